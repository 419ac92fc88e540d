"""daphne, with its access log redacted: ``python -m config.serve <daphne args>``.

daphne writes its access log (``"GET /path" 200 …``) straight to a stream,
not through ``logging``, so ``config.logs.RedactSecretsFilter`` never sees
it. Every entry does go through ``Server.log_action`` first: this entry point
is daphne's own command line with a server whose ``log_action`` redacts the
path (``config.logs.redact_secrets``). It takes daphne's arguments unchanged;
``make run``, the container (``deploy/entrypoint.sh``) and the tests' harness
(``tests/live_server.py``) all start daphne through it.
"""

from __future__ import annotations

from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server

from config.logs import redact_secrets


class RedactingServer(Server):
    def log_action(self, protocol: str, action: str, details: dict[str, Any]):
        if isinstance(details.get("path"), str):
            details = {**details, "path": redact_secrets(details["path"])}
        super().log_action(protocol, action, details)


class RedactingCommandLineInterface(CommandLineInterface):
    server_class = RedactingServer


if __name__ == "__main__":
    RedactingCommandLineInterface.entrypoint()
