"""Quota throttling as Kafka does it, seen on the wire (raw Fetch requests, no client library
in between): a client of Fetch v8+ (KIP-219) is answered at once with throttle_time_ms and its
connection then reads nothing more for that long; a Fetch v4 client gets its answer that much
later instead. Both are over a consumer_byte_rate quota of RATE bytes/s for their client id.

  quota_throttle_test.py HOST:PORT TOPIC RATE
"""
import socket
import struct
import sys
import time

host, port = sys.argv[1].rsplit(":", 1)
topic, rate = sys.argv[2], int(sys.argv[3])
failures = 0


def check(name, good, detail):
    global failures
    print(("ok   " if good else "FAIL ") + name + " (" + detail + ")")
    failures += 0 if good else 1


def recv_all(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError("connection closed")
        out += chunk
    return out


def fetch(s, version, client_id, correlation, max_bytes):
    """Sends one Fetch of partition 0 from offset 0; returns (throttle_time_ms, response size)."""
    body = struct.pack(">iiiib", -1, 100, 1, max_bytes, 0)  # replica, wait, min, max, isolation
    if version >= 7:
        body += struct.pack(">ii", 0, -1)  # no fetch session
    body += struct.pack(">ih", 1, len(topic)) + topic.encode() + struct.pack(">iiq", 1, 0, 0)
    if version >= 5:
        body += struct.pack(">q", -1)  # log_start_offset
    body += struct.pack(">i", max_bytes)
    if version >= 7:
        body += struct.pack(">i", 0)  # forgotten topics
    header = struct.pack(">hhih", 1, version, correlation, len(client_id)) + client_id.encode()
    s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    size = struct.unpack(">i", recv_all(s, 4))[0]
    data = recv_all(s, size)
    got_correlation, throttle_ms = struct.unpack(">ii", data[:8])
    assert got_correlation == correlation, "answer to another request"
    return throttle_ms, size


def run(version, client_id):
    """Two fetches: a large one over the quota, then a small one. Returns the timings."""
    s = socket.create_connection((host, int(port)))
    t0 = time.monotonic()
    throttle_ms, size = fetch(s, version, client_id, 1, 3 * rate)
    t1 = time.monotonic()
    fetch(s, version, client_id, 2, 1000)
    t2 = time.monotonic()
    s.close()
    return throttle_ms, size, t1 - t0, t2 - t1


throttle_ms, size, first, second = run(8, "kip219-new")
expected_ms = 1000 * (size - rate) / rate  # one second of burst, the rest is debt
check("Fetch v8 over its quota is told throttle_time_ms", throttle_ms >= 0.8 * expected_ms,
      "%d bytes at %d B/s: throttle_time_ms %d" % (size, rate, throttle_ms))
check("Fetch v8 (KIP-219): the throttled answer comes at once", first < throttle_ms / 2000,
      "%.2f s for a throttle of %d ms" % (first, throttle_ms))
check("Fetch v8 (KIP-219): the connection is muted for the throttle time",
      second >= 0.8 * throttle_ms / 1000,
      "the next answer %.2f s later" % second)

throttle_ms, size, first, second = run(4, "kip219-old")
check("Fetch v4 over its quota is told throttle_time_ms", throttle_ms >= 0.8 * expected_ms,
      "throttle_time_ms %d" % throttle_ms)
check("Fetch v4 (before KIP-219): the answer itself comes late",
      first >= 0.8 * throttle_ms / 1000, "%.2f s for a throttle of %d ms" % (first, throttle_ms))
sys.exit(1 if failures else 0)
