"""Container health check: exit 0 when this replica's /healthz answers 200.

Uses only the standard library (the slim image has no curl). The request is
sent with a Host from ALLOWED_HOSTS, so the check keeps working when
ALLOWED_HOSTS names only the public domain.
"""

import os
import sys
import urllib.error
import urllib.request


def health_host() -> str:
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
    request = urllib.request.Request(url, headers={"Host": health_host()})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"healthz: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
