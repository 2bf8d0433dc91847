#!/usr/bin/python3
"""What the fraud example's views must hold, computed from the generated events without the
engine, compared with the views' rows as GET /v1/views/{name} returns them.

    reference.py EVENTS_DIR VIEW VIEW_JSON_FILE      (VIEW: fraud_velocity, fraud_travel,
                                                      alerts, flagged_cards)

For `alerts` the file holds the alerts topic's records, one JSON object a line. Numbers are
compared rounded to 6 decimals (the engine takes values out of running sums). Exit status 0
when they match as multisets.
"""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reference_lib import compare, iso, load, ms  # noqa: E402

DELAY_MS = 5000
HOUR = 3600000


def alerts(tx, accounts, wm):
    by_card = collections.defaultdict(list)
    for r in tx:
        by_card[r["card"]].append(r)
    versions = collections.defaultdict(list)
    for a in accounts:
        versions[a["card"]].append(a)
    out = []
    for card, rows in by_card.items():
        times = [ms(x["ts"]) for x in rows]
        for r, t in zip(rows, times):
            if t > wm:
                continue  # still waiting for the watermark
            frame = [x["amount"] for x, tx_t in zip(rows, times) if t - HOUR <= tx_t <= t]
            avg = sum(frame) / len(frame)
            if not r["amount"] > 5 * avg:
                continue
            valid = [a for a in versions[card] if ms(a["updated"]) <= t]
            if not valid:
                continue
            acc = max(valid, key=lambda a: ms(a["updated"]))
            out.append(dict(id=r["id"], card=card, amount=r["amount"], avg_1h=avg,
                            home_country=acc["home_country"], credit_limit=acc["credit_limit"], ts=r["ts"]))
    return out


def expected(d, view):
    tx = load(d, "tx")
    accounts = load(d, "accounts")
    wm = max(ms(r["ts"]) for r in tx) - DELAY_MS
    if view == "fraud_velocity":
        windows = collections.defaultdict(list)
        for r in tx:
            t = ms(r["ts"])
            s = t - t % 10000
            while s > t - 60000:
                windows[(r["card"], s)].append(r["amount"])
                s -= 10000
        return [dict(card=c, window_start=iso(s), window_end=iso(s + 60000), payments=len(v), total=sum(v))
                for (c, s), v in windows.items() if len(v) > 3 and s + 60000 <= wm]
    if view == "fraud_travel":
        by_card = collections.defaultdict(list)
        for r in tx:
            by_card[r["card"]].append((ms(r["ts"]), r))
        out = []
        for rows in by_card.values():
            for ta, a in rows:
                for tb, b in rows:
                    if a["country"] != b["country"] and ta < tb <= ta + 600000:
                        out.append(dict(card=a["card"], first_id=a["id"], second_id=b["id"],
                                        from_country=a["country"], to_country=b["country"], ts=b["ts"]))
        return out
    if view == "alerts":
        return alerts(tx, accounts, wm)
    if view == "flagged_cards":
        per = collections.defaultdict(list)
        for a in alerts(tx, accounts, wm):
            per[a["card"]].append(a)
        return [dict(card=c, alerts=len(v), largest=max(a["amount"] for a in v),
                     credit_limit=max(a["credit_limit"] for a in v)) for c, v in per.items()]
    raise SystemExit("unknown view " + view)


def main():
    d, view, got_file = sys.argv[1:4]
    with open(got_file) as f:
        text = f.read()
    if view == "alerts":
        got_rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        got_rows = json.loads(text)["rows"]
    return compare(view, expected(d, view), got_rows)


if __name__ == "__main__":
    sys.exit(main())
