"""A webhook receiver for the tests, verifying liveroom's signatures with the Standard Webhooks
reference library (PyPI standardwebhooks, in .cache/venv: an implementation that is not
liveroom's). Run as: webhook_receiver.py PORT SECRET LOG [--fail N | --hold S]

Each POST becomes one JSON line in LOG: {"id", "timestamp", "verified", "error", "payload",
"status"}; a verified request is answered 204 (the first N with 500 when --fail N), one that
fails verification 400. --hold S: the first verified request is logged with status "held" as it
arrives and answered 204 only S seconds later (a sender that dies meanwhile never hears it).
Runs until killed.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main() -> None:
    port, secret, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    fail = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--fail" else 0
    hold = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--hold" else 0.0
    verifier = Webhook(secret)
    lock = threading.Lock()
    state = {"failed": 0, "held": False}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            entry = {"id": headers.get("webhook-id"), "timestamp": headers.get("webhook-timestamp"),
                     "signature": headers.get("webhook-signature"), "verified": False, "error": None,
                     "payload": None, "content_type": headers.get("content-type")}
            try:
                entry["payload"] = verifier.verify(body, headers)
                entry["verified"] = True
            except WebhookVerificationError as e:
                entry["error"] = str(e)
            except Exception as e:  # noqa: BLE001 - anything else is a failed verification too
                entry["error"] = f"{type(e).__name__}: {e}"
            held = False
            with lock:
                if entry["verified"] and hold and not state["held"]:
                    state["held"] = held = True
                    with open(log_path, "a", encoding="utf-8") as f:
                        f.write(json.dumps({**entry, "status": "held"}) + "\n")
            if held:
                time.sleep(hold)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with lock:
                if not entry["verified"]:
                    status = 400
                elif state["failed"] < fail:
                    state["failed"] += 1
                    status = 500
                else:
                    status = 204
                entry["status"] = status
                with open(log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
