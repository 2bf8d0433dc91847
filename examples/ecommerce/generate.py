#!/usr/bin/python3
"""Orders and an inventory changelog for the e-commerce example, as JSON lines.

    generate.py OUT_DIR [--orders N] [--seed S] [--start ISO-TIME]

OUT_DIR/inventory.jsonl: the stock of each SKU (a product in a warehouse), first all of them,
then updates as stock moves, some SKUs deleted (a tombstone line is {"sku": .., "deleted": true}).
OUT_DIR/orders.jsonl: orders in event-time order, grouped in shopping sessions whose orders
are minutes apart, some products bought together more often than others. Repeatable per seed
and start; the start defaults to four hours ago (on the minute).
"""
import argparse
import datetime
import json
import random

CATEGORIES = {"books": ["b1", "b2", "b3", "b4"], "games": ["g1", "g2", "g3"],
              "garden": ["h1", "h2", "h3"], "music": ["m1", "m2", "m3", "m4"]}
PRICES = {p: 5.0 + 3 * i for i, p in enumerate(sorted(p for ps in CATEGORIES.values() for p in ps))}
CATEGORY = {p: c for c, ps in CATEGORIES.items() for p in ps}
WAREHOUSES = ["north", "south"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--start")
    a = ap.parse_args()
    if a.start:
        start = datetime.datetime.strptime(a.start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    else:
        start = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0) - datetime.timedelta(hours=4)

    def iso(ms):
        t = start + datetime.timedelta(milliseconds=ms)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)

    rng = random.Random(a.seed)
    products = sorted(PRICES)
    # Inventory: every SKU, then stock changes and a few deletions.
    inventory = []
    stock = {}
    for p in products:
        for w in WAREHOUSES:
            sku = p + "@" + w
            stock[sku] = rng.randint(0, 60)
            inventory.append(dict(sku=sku, product=p, warehouse=w, stock=stock[sku], updated=iso(0)))
    for i in range(300):
        sku = rng.choice(sorted(stock))
        if rng.random() < 0.03:
            inventory.append(dict(sku=sku, deleted=True))
            del stock[sku]
            if not stock:
                break
            continue
        p, w = sku.split("@")
        stock[sku] = max(0, stock[sku] + rng.randint(-15, 10))
        inventory.append(dict(sku=sku, product=p, warehouse=w, stock=stock[sku], updated=iso(1000 * (i + 1))))
    # Orders: sessions of 1-4 orders minutes apart; "favourite" pairs come together.
    favourites = [("b1", "m1"), ("g1", "g2"), ("h1", "b2")]
    orders = []
    t = 0
    session = 0
    while len(orders) < a.orders:
        session += 1
        t += rng.randint(1000, 12000)
        if rng.random() < 0.4:
            basket = list(rng.choice(favourites))
        else:
            basket = rng.sample(products, rng.randint(1, 3))
        ts = t
        for p in basket:
            orders.append(dict(session="s%05d" % session, product=p, category=CATEGORY[p],
                               qty=rng.randint(1, 3), price=PRICES[p], ts=ts))
            ts += rng.randint(10, 20 * 60) * 1000
    orders.sort(key=lambda o: o["ts"])
    with open(a.out + "/inventory.jsonl", "w") as f:
        for r in inventory:
            f.write(json.dumps(r) + "\n")
    with open(a.out + "/orders.jsonl", "w") as f:
        for i, o in enumerate(orders):
            o = dict(order_id=i + 1, **o)
            o["ts"] = iso(o["ts"])
            f.write(json.dumps(o) + "\n")


if __name__ == "__main__":
    main()
