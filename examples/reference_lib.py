"""What the examples' reference.py scripts share: event times, JSON lines, and comparing a
view's rows with the expected ones as multisets (numbers rounded to 6 decimals, since the
engine takes values out of running sums)."""
import collections
import datetime
import json


def ms(iso_time):
    dt = datetime.datetime.strptime(iso_time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(round(dt.timestamp() * 1000))


def iso(t):
    dt = datetime.datetime.fromtimestamp(t / 1000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t % 1000)


def load(folder, name):
    with open(folder + "/" + name + ".jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def canon(row):
    return json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}, sort_keys=True)


def compare(what, want_rows, got_rows):
    """Prints the verdict; 0 when they match and something was expected, else 1."""
    want = collections.Counter(canon(r) for r in want_rows)
    got = collections.Counter(canon(r) for r in got_rows)
    if want == got:
        print("%s: %d rows match the reference" % (what, sum(want.values())))
        return 0 if want else 1  # an empty expectation proves nothing
    print("%s: MISMATCH: %d expected rows missing, %d unexpected" % (what, sum((want - got).values()), sum((got - want).values())))
    for k in list(want - got)[:5]:
        print("  missing:", k)
    for k in list(got - want)[:5]:
        print("  unexpected:", k)
    return 1
