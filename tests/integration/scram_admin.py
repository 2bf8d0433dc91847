#!/usr/bin/python3
# AlterUserScramCredentials and DescribeUserScramCredentials (KIP-554, API keys 51 and 50, v0)
# written from the Kafka protocol's message definitions, over a plain socket: no Kafka library
# shares code with it (Debian's librdkafka 2.0, kafka-python and kafkajs lack these APIs).
# The salted password is computed here (RFC 5802: PBKDF2-HMAC), as Kafka's admin client does.
#
#   scram_admin.py HOST:PORT upsert USER PASSWORD MECHANISM ITERATIONS  -> prints the error code
#   scram_admin.py HOST:PORT delete USER MECHANISM                      -> prints the error code
#   scram_admin.py HOST:PORT replace USER PASSWORD MECHANISM ITERATIONS -> both in one request
#   scram_admin.py HOST:PORT describe USER     -> "MECHANISM:ITERATIONS,..", "USER:error N" (that
#                                                user's error) or "error N" (the request's)
import hashlib
import os
import socket
import struct
import sys

MECHANISMS = {"SCRAM-SHA-256": (1, "sha256"), "SCRAM-SHA-512": (2, "sha512")}
NAMES = {1: "SCRAM-SHA-256", 2: "SCRAM-SHA-512"}


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def compact_string(s):
    data = s.encode()
    return uvarint(len(data) + 1) + data


def compact_bytes(b):
    return uvarint(len(b) + 1) + b


def compact_array(items):
    return uvarint(len(items) + 1) + b"".join(items)


TAGS = b"\x00"  # no tagged fields


class reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self):
        shift = n = 0
        while True:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def compact_string(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1).decode()

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


def call(addr, api_key, body):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    client = b"scram-admin"
    # Request header v2: key, version, correlation id, client id (a nullable INT16 string), tags.
    head = struct.pack(">hhih", api_key, 0, 7, len(client)) + client + TAGS
    frame = head + body
    s.sendall(struct.pack(">i", len(frame)) + frame)
    size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
    data = b""
    while len(data) < size:
        data += s.recv(size - len(data))
    r = reader(data)
    assert r.i32() == 7, "correlation id"
    r.tags()  # response header v1
    return r


def main():
    addr, op = sys.argv[1], sys.argv[2]
    if op in ("upsert", "delete", "replace"):
        # replace: a deletion and an upsertion of the same mechanism in one request
        user = sys.argv[3]
        deletions = upsertions = compact_array([])
        if op in ("upsert", "replace"):
            password, mechanism, iterations = sys.argv[4], sys.argv[5], int(sys.argv[6])
            code, digest = MECHANISMS[mechanism]
            salt = os.urandom(24)
            salted = hashlib.pbkdf2_hmac(digest, password.encode(), salt, iterations)
            upsertions = compact_array([compact_string(user) + struct.pack(">bi", code, iterations) +
                                        compact_bytes(salt) + compact_bytes(salted) + TAGS])
        if op in ("delete", "replace"):
            code, _ = MECHANISMS[sys.argv[4] if op == "delete" else sys.argv[5]]
            deletions = compact_array([compact_string(user) + struct.pack(">b", code) + TAGS])
        r = call(addr, 51, deletions + upsertions + TAGS)
        r.i32()  # throttle
        results = r.uvarint() - 1
        assert results == 1, results
        name, error = r.compact_string(), r.i16()
        r.compact_string()
        r.tags()
        assert name == user, name
        print(error)
    elif op == "describe":
        users = compact_array([compact_string(sys.argv[3]) + TAGS])
        r = call(addr, 50, users + TAGS)
        r.i32()
        error = r.i16()
        r.compact_string()
        if error:
            print("error", error)
            return
        out = []
        for _ in range(r.uvarint() - 1):
            name = r.compact_string()
            user_error = r.i16()
            r.compact_string()
            if user_error:
                out.append(f"{name}:error {user_error}")
            for _ in range(r.uvarint() - 1):
                mechanism, iterations = r.i8(), r.i32()
                r.tags()
                out.append(f"{NAMES.get(mechanism, mechanism)}:{iterations}")
            r.tags()
        print(",".join(out))


main()
