"""Records every response the e2e tests get from the services, so that
tests/api/validate_responses.js can check each against the schema its
service's OpenAPI document gives for that path, method and status.

install() wraps requests.Session.send (what every requests call goes
through) when RECORD names a file: one JSON line per response with the
service, method, path, status, content type and, for JSON bodies, the text.
"""
import json
import os
import threading
from urllib.parse import urlsplit

import requests

_lock = threading.Lock()


def install(services):
    """services: {"registry": base_url, ...}"""
    path = os.environ.get("RECORD")
    if not path or getattr(requests.Session.send, "_recording", False):
        return
    original = requests.Session.send

    def send(self, request, **kw):
        r = original(self, request, **kw)
        try:
            svc = next((n for n, b in services.items() if request.url.startswith(b + "/")), None)
            if svc is None:
                return r
            ctype = r.headers.get("Content-Type", "")
            body = None
            if ctype.startswith("application/json") and not kw.get("stream") and request.method != "HEAD":
                body = r.text
            line = json.dumps({"service": svc, "method": request.method, "path": urlsplit(request.url).path,
                               "status": r.status_code, "content_type": ctype, "body": body})
            with _lock, open(path, "a") as f:
                f.write(line + "\n")
        except Exception:		# recording must never change what a test sees
            pass
        return r

    send._recording = True
    requests.Session.send = send
