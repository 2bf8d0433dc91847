#!/usr/bin/python3
"""Card payments and accounts for the fraud example, as JSON lines.

    generate.py OUT_DIR [--payments N] [--seed S] [--start ISO-TIME]

Writes OUT_DIR/accounts.jsonl (one row per card, a few updated later: the table's changelog)
and OUT_DIR/tx.jsonl (payments in event-time order, about one every 2 s over the cards), with
fraud planted among the ordinary payments: bursts of payments on one card, a card used in two
countries minutes apart, and amounts far above a card's usual ones. Repeatable per seed and
start; the start defaults to three hours ago (on the minute), so that topic retention (7 days
by record time) keeps the events.
"""
import argparse
import datetime
import json
import random

START = None
COUNTRIES = ["DE", "FR", "NL", "IT", "ES", "PL"]


def iso(ms):
    t = START + datetime.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--payments", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--start", help="first event time, e.g. 2026-03-01T09:00:00Z")
    a = ap.parse_args()
    global START
    if a.start:
        START = datetime.datetime.strptime(a.start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    else:
        now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
        START = now - datetime.timedelta(hours=3)
    rng = random.Random(a.seed)
    cards = ["card-%03d" % i for i in range(40)]
    home = {c: rng.choice(COUNTRIES) for c in cards}
    accounts = []
    for c in cards:
        accounts.append(dict(card=c, home_country=home[c], credit_limit=float(rng.choice([500, 1000, 2000, 5000])),
                             updated=iso(0)))
    tx = []
    t = 1000
    n = 0
    while n < a.payments:
        t += rng.randint(500, 3500)
        c = rng.choice(cards)
        kind = rng.random()
        if kind < 0.01:  # a burst: 5 payments within 25 s
            for k in range(5):
                tx.append(dict(card=c, amount=round(rng.uniform(5, 40), 2), country=home[c], ts=t + k * 5000))
            n += 5
        elif kind < 0.02:  # the card used abroad minutes later
            tx.append(dict(card=c, amount=round(rng.uniform(5, 60), 2), country=home[c], ts=t))
            other = rng.choice([x for x in COUNTRIES if x != home[c]])
            tx.append(dict(card=c, amount=round(rng.uniform(5, 60), 2), country=other, ts=t + rng.randint(60, 540) * 1000))
            n += 2
        elif kind < 0.03:  # far above the usual
            tx.append(dict(card=c, amount=round(rng.uniform(900, 3000), 2), country=home[c], ts=t))
            n += 1
        else:
            tx.append(dict(card=c, amount=round(rng.uniform(5, 80), 2), country=home[c], ts=t))
            n += 1
    tx.sort(key=lambda r: r["ts"])
    for i, r in enumerate(tx):
        r["id"] = i + 1
        r["ts"] = iso(r["ts"])
    # Halfway, a few accounts change their limit: the temporal join must use the right one.
    middle = tx[len(tx) // 2]["ts"]
    for c in cards[:5]:
        accounts.append(dict(card=c, home_country=home[c], credit_limit=99999.0, updated=middle))
    with open(a.out + "/accounts.jsonl", "w") as f:
        for r in accounts:
            f.write(json.dumps(r) + "\n")
    with open(a.out + "/tx.jsonl", "w") as f:
        for r in tx:
            f.write(json.dumps(dict(id=r["id"], card=r["card"], amount=r["amount"], country=r["country"], ts=r["ts"])) + "\n")


if __name__ == "__main__":
    main()
