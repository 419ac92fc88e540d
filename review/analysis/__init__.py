"""Pure analysis of a deal's record, for reviews and the team dashboard.

Nothing here touches the database: selectors fetch the rows (already limited
to what the viewer may see) and hand plain values to these functions, which
are unit-tested on their own (reading the number a term holds, like
"EUR 212k", is ``common.numbers``, as the preparation needs it too). Each
module answers one question:

- ``replay``: how did the term sheet stand after each event of the log?
- ``stages``: how long did the deal spend in each stage?
- ``concessions``: what did a side give and get, valued how?
- ``outcome``: how does the final term sheet compare with a side's targets
  and walk-away point?
- ``schedule``: when are the check-ins, and which are due or overdue?
- ``ics``: the check-in schedule as an iCalendar file.
- ``narrative``: one plain sentence per logged event.
"""
