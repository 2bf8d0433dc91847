#!/usr/bin/python3
# A minimal WebSocket client over TLS (Python's ssl module verifies the server against CA):
# opens PATH, prints the answer's status line and the first message, then closes with 1000
# and prints whether the server answered the close. Nothing shared with sluice's code.
# usage: wss_client.py HOST PORT PATH CA_FILE [USER:PASSWORD]
import base64
import os
import socket
import ssl
import struct
import sys

host, port, path, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
auth = sys.argv[5] if len(sys.argv) > 5 else None
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection((host, port)), server_hostname=host)
key = base64.b64encode(os.urandom(16)).decode()
req = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
if auth:
    req += "Authorization: Basic " + base64.b64encode(auth.encode()).decode() + "\r\n"
s.sendall((req + "\r\n").encode())
s.settimeout(5)
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head, rest = buf.split(b"\r\n\r\n", 1)
print(head.split(b"\r\n")[0].decode())


def need(n):
    global rest
    while len(rest) < n:
        more = s.recv(4096)
        if not more:
            raise EOFError("connection closed")
        rest += more


def frame():
    global rest
    need(2)
    n, h = rest[1] & 0x7f, 2
    if n == 126:
        need(4)
        n, h = struct.unpack(">H", rest[2:4])[0], 4
    elif n == 127:
        need(10)
        n, h = struct.unpack(">Q", rest[2:10])[0], 10
    need(h + n)
    op, payload, rest = rest[0] & 15, rest[h:h + n], rest[h + n:]
    return op, payload


if head.startswith(b"HTTP/1.1 101"):
    op, payload = frame()
    print(payload.decode())
    mask = os.urandom(4)
    code = struct.pack(">H", 1000)
    s.sendall(bytes([0x88, 0x80 | len(code)]) + mask +
              bytes(b ^ mask[i % 4] for i, b in enumerate(code)))
    while True:
        op, payload = frame()
        if op == 8:
            print("close answered")
            break
