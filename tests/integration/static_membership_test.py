"""Static membership (group.instance.id) against a started sluice, through Debian's
python3-confluent-kafka (librdkafka): a static member that restarts within its session timeout
gets its partitions back, and the other member of the group never revokes its own. The two
members take turns restarting, so the group leader restarts too.

  static_membership_test.py BOOTSTRAP RESTARTS
"""

import sys
import time

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP, RESTARTS = sys.argv[1], int(sys.argv[2])
TOPIC, GROUP = "static-topic", "static-group"


class Member:
    def __init__(self, instance):
        self.instance = instance
        self.events = []
        self.start()

    def start(self):
        self.events = []
        self.c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": GROUP,
                           "group.instance.id": self.instance, "session.timeout.ms": 30000,
                           "heartbeat.interval.ms": 500, "auto.offset.reset": "earliest"})
        self.c.subscribe([TOPIC], on_assign=lambda _, p: self.events.append(("assign", len(p))),
                         on_revoke=lambda _, p: self.events.append(("revoke", len(p))))

    def owned(self):
        return self.events[-1][1] if self.events and self.events[-1][0] == "assign" else 0


def poll_until(members, cond, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for m in members:
            m.c.poll(0.05)
        if cond():
            return True
    return False


def main():
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    admin.create_topics([NewTopic(TOPIC, 6, 1)])[TOPIC].result()
    members = [Member("member-a"), Member("member-b")]
    if not poll_until(members, lambda: sum(m.owned() for m in members) == 6 and
                      all(m.owned() > 0 for m in members)):
        print("FAIL the two members never shared the six partitions")
        return 1
    failures = 0
    for i in range(RESTARTS):
        restarted, other = members[i % 2], members[1 - i % 2]
        seen = len(other.events)
        restarted.c.close()
        restarted.start()
        if not poll_until(members, lambda: restarted.owned() > 0):
            print(f"FAIL restart {i} of {restarted.instance}: it got no partitions back")
            failures += 1
            continue
        poll_until(members, lambda: False, timeout=0.5)  # a rebalance would show up by now
        moved = other.events[seen:]
        if moved:
            print(f"FAIL restart {i} of {restarted.instance}: {other.instance} saw {moved}")
            failures += 1
    for m in members:
        m.c.close()
    print(("ok   " if failures == 0 else "FAIL ") +
          f"{RESTARTS} static restarts, {failures} of them disturbed the other member")
    return 1 if failures else 0


sys.exit(main())
