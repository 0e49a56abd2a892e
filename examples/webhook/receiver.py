"""An example webhook receiver for `jidoka executor` (standard library only).

It stands where a deploy system would: it verifies the signature of every
heal command the bridge POSTs (X-Jidoka-Signature-256: sha256=<hex of
HMAC-SHA256(key, raw body)>), answers 202 at once, ignores a command id it
has already taken (Idempotency-Key), "carries the action out" in the
background, then reports how it ended to the bridge's POST /outcomes, signed
the same way.

Environment:
  RECEIVER_HMAC_KEY    the bridge's executor.hmac-key (required)
  RECEIVER_PORT        port to listen on (default 8080)
  BRIDGE_OUTCOMES_URL  the bridge's POST /outcomes URL
                       (default http://executor:9465/outcomes)
  RECEIVER_WORK_SECONDS  how long the pretend action takes (default 1)

Run: python receiver.py
"""

import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY = os.environ.get("RECEIVER_HMAC_KEY", "").encode()
PORT = int(os.environ.get("RECEIVER_PORT", "8080"))
OUTCOMES_URL = os.environ.get("BRIDGE_OUTCOMES_URL", "http://executor:9465/outcomes")
WORK_SECONDS = float(os.environ.get("RECEIVER_WORK_SECONDS", "1"))

taken = set()
taken_lock = threading.Lock()


def signature(body: bytes) -> str:
    return "sha256=" + hmac.new(KEY, body, hashlib.sha256).hexdigest()


def log(message: str) -> None:
    print(f"receiver: {message}", file=sys.stderr, flush=True)


def report(command_id: str, action: str) -> None:
    """Pretends to run the action, then POSTs its outcome to the bridge."""
    time.sleep(WORK_SECONDS)
    outcome = {
        "command_id": command_id,
        "status": "completed",
        "recovery": 0.1 if action in ("retrain", "rollback") else 0.05,
        "cost": 1.0,
    }
    body = json.dumps(outcome).encode()
    for attempt in range(1, 6):
        request = urllib.request.Request(
            OUTCOMES_URL,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Jidoka-Signature-256": signature(body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                log(f"outcome of {command_id} reported: {response.status} {response.read().decode().strip()}")
                return
        except urllib.error.HTTPError as e:
            detail = e.read().decode().strip()
            if e.code < 500:
                log(f"outcome of {command_id} refused: {e.code} {detail}")
                return
            log(f"outcome of {command_id}: {e.code} {detail}; retrying")
        except OSError as e:
            log(f"outcome of {command_id}: {e}; retrying")
        time.sleep(min(2**attempt, 30))
    log(f"outcome of {command_id} not reported")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        given = self.headers.get("X-Jidoka-Signature-256", "")
        if not hmac.compare_digest(given, signature(body)):
            log(f"refused a POST to {self.path}: bad signature")
            self.send_response(401)
            self.end_headers()
            return
        try:
            command = json.loads(body)
            # A GitHub-style dispatch carries the command in client_payload.
            command = command.get("client_payload", command)
            command_id = command["command_id"]
            action = command["action"]
        except (ValueError, KeyError, AttributeError):
            self.send_response(400)
            self.end_headers()
            return
        key = self.headers.get("Idempotency-Key", command_id)
        with taken_lock:
            duplicate = key in taken
            taken.add(key)
        self.send_response(200 if duplicate else 202)
        self.end_headers()
        if duplicate:
            log(f"{command_id} already taken")
            return
        log(f"took {action} for {command['model_id']} ({command_id})")
        threading.Thread(target=report, args=(command_id, action), daemon=True).start()

    def log_message(self, format: str, *args) -> None:
        pass


def main() -> None:
    if not KEY:
        sys.exit("receiver: RECEIVER_HMAC_KEY is not set")
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    log(f"listening on :{PORT}, reporting outcomes to {OUTCOMES_URL}")
    server.serve_forever()


if __name__ == "__main__":
    main()
