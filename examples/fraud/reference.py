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
import datetime
import json
import sys

DELAY_MS = 5000
HOUR = 3600000


def ms(iso):
    dt = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(round(dt.timestamp() * 1000))


def iso(t):
    dt = datetime.datetime.fromtimestamp(t / 1000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t % 1000)


def load(d, name):
    with open(d + "/" + name + ".jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


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


def canon(row):
    return json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}, sort_keys=True)


def main():
    d, view, got_file = sys.argv[1:4]
    with open(got_file) as f:
        text = f.read()
    if view == "alerts":
        got_rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        got_rows = json.loads(text)["rows"]
    want = collections.Counter(canon(r) for r in expected(d, view))
    got = collections.Counter(canon(r) for r in got_rows)
    if want == got:
        print("%s: %d rows match the reference" % (view, sum(want.values())))
        return 0 if want else 1  # an empty expectation proves nothing
    print("%s: MISMATCH: %d expected rows missing, %d unexpected" % (view, sum((want - got).values()), sum((got - want).values())))
    for k in list(want - got)[:5]:
        print("  missing:", k)
    for k in list(got - want)[:5]:
        print("  unexpected:", k)
    return 1


if __name__ == "__main__":
    sys.exit(main())
