#!/usr/bin/python3
"""Independent reference for the Nexmark queries in queries.sql.

Reads the generator's person/auction/bid.jsonl, computes what each query must output once
every partition is idle (watermark = largest event time - 4 s), and compares it with a
query's output topic dumped as JSON lines (one record value per line). Exit status 0 when
they match as multisets. The queries whose output is a changelog (q4, q9: upserts by key) are
dumped as KEY<TAB>VALUE lines and compared by the last value of each key.

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


UPSERT_QUERIES = ("q4", "q9")


def tumbling(bids, size):
    """Window start -> the bids in that tumbling window."""
    windows = collections.defaultdict(list)
    for b in bids:
        t = ms(b["dateTime"])
        windows[t - t % size].append(b)
    return windows


def load(jsonl_dir, name):
    try:
        with open(jsonl_dir + "/" + name + ".jsonl") as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []


def expected(jsonl_dir, bids, query):
    if query in ("q3", "q4", "q8", "q9"):
        persons = load(jsonl_dir, "person")
        auctions = load(jsonl_dir, "auction")
    if query == "q3":
        by_id = {p["id"]: p for p in persons}
        out = []
        for a in auctions:
            p = by_id.get(a["seller"])
            if a["category"] == 10 and p and p["state"] in ("OR", "ID", "CA"):
                out.append(dict(name=p["name"], city=p["city"], state=p["state"], id=a["id"]))
        return out
    if query in ("q4", "q9"):
        # Each auction's bids within [auction time, expires]; the best by price, then earliest.
        by_auction = collections.defaultdict(list)
        for b in bids:
            by_auction[b["auction"]].append(b)
        winners = []
        for a in auctions:
            lo, hi = ms(a["dateTime"]), ms(a["expires"])
            ok = [b for b in by_auction.get(a["id"], []) if lo <= ms(b["dateTime"]) <= hi]
            if ok:
                best = min(ok, key=lambda b: (-b["price"], ms(b["dateTime"])))
                winners.append((a, best))
        if query == "q9":
            out = []
            for a, b in winners:
                row = dict(a)
                row.update(auction=b["auction"], bidder=b["bidder"], price=b["price"],
                           bid_dateTime=b["dateTime"], bid_extra=b["extra"])
                out.append(row)
            return out
        finals = collections.defaultdict(list)
        for a, b in winners:
            finals[a["category"]].append(b["price"])
        return [dict(category=c, avg_final=sum(v) / len(v)) for c, v in finals.items()]
    if query == "q8":
        wm = max(ms(e["dateTime"]) for e in persons + auctions) - DELAY_MS
        sellers = set()
        for a in auctions:
            t = ms(a["dateTime"])
            sellers.add((a["seller"], t - t % 10000))
        out = []
        for p in persons:
            t = ms(p["dateTime"])
            w = t - t % 10000
            if w + 10000 <= wm and (p["id"], w) in sellers:
                out.append(dict(id=p["id"], name=p["name"], starttime=iso(w)))
        return out
    if query == "q0":
        return [dict(auction=b["auction"], bidder=b["bidder"], price=b["price"], dateTime=b["dateTime"], extra=b["extra"]) for b in bids]
    if query == "q1":
        return [dict(auction=b["auction"], bidder=b["bidder"], price=0.908 * b["price"], dateTime=b["dateTime"], extra=b["extra"]) for b in bids]
    if query == "q2":
        return [dict(auction=b["auction"], price=b["price"]) for b in bids if b["auction"] % 123 == 0]
    wm = max(ms(b["dateTime"]) for b in bids) - DELAY_MS
    if query == "q5j":
        return [dict(auction=r["auction"], num=r["num"]) for r in expected(jsonl_dir, bids, "q5")]
    if query == "q7j":
        windows = tumbling(bids, 10000)
        out = []
        for s, bs in windows.items():
            end = s + 10000
            if end > wm:
                continue
            top = max(b["price"] for b in bs)
            # BETWEEN is inclusive: a bid at exactly the window's end (the next window's first
            # millisecond) with that price joins too.
            cands = bs + [b for b in windows.get(end, []) if ms(b["dateTime"]) == end]
            out += [dict(auction=b["auction"], price=b["price"], bidder=b["bidder"], dateTime=b["dateTime"], extra=b["extra"])
                    for b in cands if b["price"] == top]
        return out
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
        windows = tumbling(bids, 10000)
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
    bids = load(jsonl_dir, "bid")
    want = collections.Counter(key(r) for r in expected(jsonl_dir, bids, query))
    with open(output) as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    if query in UPSERT_QUERIES:
        latest = {}
        for line in lines:
            k, _, v = line.partition("\t")
            latest[k] = json.loads(v) if v else None  # an empty value is a tombstone
        got = collections.Counter(key(v) for v in latest.values() if v is not None)
    else:
        got = collections.Counter(key(json.loads(line)) for line in lines)
    if want == got:
        print("%s: %d rows match the reference" % (query, sum(want.values())))
        return 0 if want else 1  # an empty expectation proves nothing
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
