#!/usr/bin/python3
"""Independent reference for the Nexmark queries in queries.sql.

Reads the generator's bid.jsonl, computes what each query must output once every partition
is idle (watermark = largest event time - 4 s), and compares it with a query's output topic
dumped as JSON lines (one record value per line). Exit status 0 when they match as multisets.

    reference.py JSONL_DIR QUERY OUTPUT_FILE
"""
import collections
import datetime
import json
import sys

DELAY_MS = 4000


def ms(iso):
    dt = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(round(dt.timestamp() * 1000))


def iso(t):
    dt = datetime.datetime.fromtimestamp(t / 1000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t % 1000)


def expected(bids, query):
    if query == "q0":
        return [dict(auction=b["auction"], bidder=b["bidder"], price=b["price"], dateTime=b["dateTime"], extra=b["extra"]) for b in bids]
    if query == "q1":
        return [dict(auction=b["auction"], bidder=b["bidder"], price=0.908 * b["price"], dateTime=b["dateTime"], extra=b["extra"]) for b in bids]
    if query == "q2":
        return [dict(auction=b["auction"], price=b["price"]) for b in bids if b["auction"] % 123 == 0]
    wm = max(ms(b["dateTime"]) for b in bids) - DELAY_MS
    if query == "q5":
        counts = collections.defaultdict(collections.Counter)  # window start -> auction -> bids
        for b in bids:
            t = ms(b["dateTime"])
            start = t - t % 2000 - 8000
            for s in range(start, t + 1, 2000):
                if s <= t < s + 10000:
                    counts[s][b["auction"]] += 1
        out = []
        for s, c in counts.items():
            if s + 10000 > wm:
                continue
            top = max(c.values())
            out += [dict(auction=a, num=n, window_start=iso(s), window_end=iso(s + 10000)) for a, n in c.items() if n == top]
        return out
    if query == "q7":
        windows = collections.defaultdict(list)
        for b in bids:
            t = ms(b["dateTime"])
            windows[t - t % 10000].append(b)
        out = []
        for s, bs in windows.items():
            if s + 10000 > wm:
                continue
            top = max(b["price"] for b in bs)
            out += [dict(auction=b["auction"], price=b["price"], bidder=b["bidder"], dateTime=b["dateTime"], extra=b["extra"], window_end=iso(s + 10000)) for b in bs if b["price"] == top]
        return out
    raise SystemExit("unknown query " + query)


def key(row):
    return json.dumps(row, sort_keys=True)


def main():
    jsonl_dir, query, output = sys.argv[1:4]
    with open(jsonl_dir + "/bid.jsonl") as f:
        bids = [json.loads(line) for line in f]
    want = collections.Counter(key(r) for r in expected(bids, query))
    with open(output) as f:
        got = collections.Counter(key(json.loads(line)) for line in f if line.strip())
    if want == got:
        print("%s: %d rows match the reference" % (query, sum(want.values())))
        return 0
    missing = want - got
    extra = got - want
    print("%s: MISMATCH: %d expected rows missing, %d unexpected rows" % (query, sum(missing.values()), sum(extra.values())))
    for k in list(missing)[:5]:
        print("  missing:", k)
    for k in list(extra)[:5]:
        print("  unexpected:", k)
    return 1


if __name__ == "__main__":
    sys.exit(main())
