"""A webhook receiver for connect_test.sh: answers 503 to every third POST (the sink must retry),
400 to paths under /reject (the sink must give up and dead-letter), checks the HMAC-SHA256
signature, and appends each accepted record as a JSON line to the output file.

usage: webhook_receiver.py PORT OUT_FILE SECRET
"""
import hashlib
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, out_path, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
count = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        count += 1
        if self.path.startswith("/reject"):
            return self.answer(400, b"no thanks")
        if count % 3 == 0:
            return self.answer(503, b"busy")
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(want, self.headers.get("X-Sluice-Signature", ""))
        with open(out_path, "a") as f:
            for record in json.loads(body):
                record["signed"] = good
                f.write(json.dumps(record) + "\n")
        self.answer(200)


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
