#!/usr/bin/python3
"""What the e-commerce example's views must hold, computed from the generated events without
the engine, compared with GET /v1/views/{name}'s rows.

    reference.py EVENTS_DIR VIEW VIEW_JSON_FILE   (VIEW: stock, low_stock, revenue,
                                                   bought_together)

Numbers are compared rounded to 6 decimals. Exit status 0 when they match as multisets (and
the expectation is not empty).
"""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reference_lib import compare, iso, load, ms  # noqa: E402

DELAY_MS = 10000
HALF_HOUR = 1800000
HOUR = 3600000


def final_stock(d):
    skus = {}
    for r in load(d, "inventory"):
        if r.get("deleted"):
            skus.pop(r["sku"], None)
        else:
            skus[r["sku"]] = r
    per = collections.defaultdict(list)
    for r in skus.values():
        per[r["product"]].append(r["stock"])
    return per


def expected(d, view):
    if view == "stock":
        return [dict(product=p, stock=sum(v), skus=len(v)) for p, v in final_stock(d).items()]
    if view == "low_stock":
        return [dict(product=p, stock=sum(v)) for p, v in final_stock(d).items() if sum(v) < 20]
    orders = load(d, "orders")
    for o in orders:
        o["t"] = ms(o["ts"])
    wm = max(o["t"] for o in orders) - DELAY_MS
    if view == "revenue":
        win = collections.defaultdict(list)
        for o in orders:
            win[(o["t"] - o["t"] % 60000, o["category"])].append(o["qty"] * o["price"])
        return [dict(window_start=iso(s), window_end=iso(s + 60000), category=c, revenue=sum(v), orders=len(v))
                for (s, c), v in win.items() if s + 60000 <= wm]
    if view == "bought_together":
        # The interval join holds its output watermark back to the oldest order it still
        # keeps (one that may yet meet a later order: time + 30 min + 1 ms past the watermark).
        kept = [o["t"] for o in orders if o["t"] + HALF_HOUR + 1 > wm]
        out_wm = min([wm] + kept)
        sessions = collections.defaultdict(list)
        for o in orders:
            sessions[o["session"]].append(o)
        pairs = collections.Counter()
        for os_ in sessions.values():
            for a in os_:
                for b in os_:
                    if a["product"] != b["product"] and abs(b["t"] - a["t"]) <= HALF_HOUR:
                        pairs[(a["t"] - a["t"] % HOUR, a["product"], b["product"])] += 1
        per = collections.defaultdict(list)
        for (s, p, q), n in pairs.items():
            if s + HOUR <= out_wm:
                per[(s, p)].append((-n, q))
        out = []
        for (s, p), v in per.items():
            for neg, q in sorted(v)[:5]:
                out.append(dict(product=p, other=q, n=-neg, window_end=iso(s + HOUR)))
        return out
    raise SystemExit("unknown view " + view)


def main():
    d, view, got_file = sys.argv[1:4]
    with open(got_file) as f:
        got_rows = json.load(f)["rows"]
    return compare(view, expected(d, view), got_rows)


if __name__ == "__main__":
    sys.exit(main())
