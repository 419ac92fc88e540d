"""Every write in Parley goes through a function in this package.

Each service validates, writes in one transaction, appends a ``DealEvent`` for
changes both sides see, and broadcasts after commit. Views and consumers only
parse input, call a service and render.
"""
