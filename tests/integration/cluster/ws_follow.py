#!/usr/bin/python3
# Follows a view over WebSocket (plain ws://, no library: nothing shared with sluice's code)
# until the file STOP exists, applying the snapshot and every change by key; then prints the
# rows it ended with, one JSON object per line, sorted, and on stderr how many changes came.
# A change missed (or applied twice out of order) shows as a row that differs from GET.
# usage: ws_follow.py HOST PORT VIEW STOP
import base64
import json
import os
import socket
import struct
import sys

host, port, view, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection((host, port))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET /v1/views/{view}/ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
s.settimeout(0.5)
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head, buf = buf.split(b"\r\n\r\n", 1)
if b" 101 " not in head.split(b"\r\n")[0]:
    sys.exit("no upgrade: " + head.decode(errors="replace"))


def frames():
    global buf
    while True:
        while True:
            if len(buf) >= 2:
                n = buf[1] & 0x7F
                at = 2
                if n == 126:
                    n, at = (struct.unpack(">H", buf[2:4])[0], 4) if len(buf) >= 4 else (None, 0)
                elif n == 127:
                    n, at = (struct.unpack(">Q", buf[2:10])[0], 10) if len(buf) >= 10 else (None, 0)
                if n is not None and len(buf) >= at + n:
                    op, payload, buf = buf[0] & 0x0F, buf[at:at + n], buf[at + n:]
                    yield op, payload
                    continue
            break
        if os.path.exists(stop):
            return
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        if not data:
            return
        buf += data


rows, changes = {}, 0
for op, payload in frames():
    if op == 8:
        sys.exit("closed by the server: " + payload[2:].decode(errors="replace"))
    if op != 1:
        continue
    msg = json.loads(payload)
    if msg["type"] == "snapshot":
        cols = msg["columns"]
        rows = {json.dumps(k): (dict(zip(cols, r)) if isinstance(r, list) else r)
                for k, r in zip(msg["keys"], msg["rows"])}
    elif msg["type"] == "changes":
        for c in msg["changes"]:
            changes += 1
            k = json.dumps(c["key"])
            if c["op"] == "delete":
                rows.pop(k, None)
            else:
                rows[k] = c["row"]
for line in sorted(json.dumps(r, sort_keys=True) for r in rows.values()):
    print(line)
print(f"{changes} changes", file=sys.stderr)
