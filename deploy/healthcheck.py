"""Exit 0 when the local web process answers /healthz with 200 (database and broker reachable).

For the Docker healthcheck and for monitoring on a host: `python deploy/healthcheck.py`.
The request names the first of ALLOWED_HOSTS, so Django does not refuse it as an unknown host.
"""

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
    port = bind.rsplit(":", 1)[-1]
    hosts = [h.strip().lstrip(".") for h in os.environ.get("ALLOWED_HOSTS", "").split(",")]
    host = next((h for h in hosts if h and "*" not in h), "localhost")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz",
        # As if through the TLS proxy: no HTTPS redirect whatever the settings say.
        headers={"Host": host, "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (fixed URL)
            body = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read().decode(), error.code
    except OSError as error:
        print(f"healthz unreachable: {error}", file=sys.stderr)
        return 1
    print(body)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
