"""Kafka transactions against a started sluice, through Debian's python3-confluent-kafka
(librdkafka). Each scenario asserts on what read_committed and read_uncommitted consumers see.

  transactions_test.py BOOTSTRAP scenarios      the scenarios below, one after the other
  transactions_test.py BOOTSTRAP produce-input TOPIC N
  transactions_test.py BOOTSTRAP eos-worker IN OUT N SECONDS MIN_RECOVERIES
                                                 consume-transform-produce until the group
                                                 committed N inputs, surviving broker restarts
                                                 (at least MIN_RECOVERIES failed transactions;
                                                 20 inputs a transaction)
  transactions_test.py BOOTSTRAP verify-output TOPIC N
                                                 read_committed holds each of N inputs once

Run with Debian's interpreter (/usr/bin/python3), which sees python3-confluent-kafka.
"""

import sys
import time
from collections import Counter

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP = sys.argv[1]
failures = 0


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"), flush=True)
    if not cond:
        failures += 1


def create(topic, partitions):
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for f in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        f.result()


def txn_producer(txn_id, **extra):
    conf = {"bootstrap.servers": BOOTSTRAP, "transactional.id": txn_id, "linger.ms": 5}
    conf.update(extra)
    p = Producer(conf)
    p.init_transactions(30)
    return p


def read_all(topic, isolation, partitions, timeout=20):
    """Every value of `topic` from the start to the end (EOF on every partition)."""
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"reader-{time.time()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "isolation.level": isolation, "enable.partition.eof": True})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, eof, deadline = [], set(), time.time() + timeout
    while time.time() < deadline and len(eof) < partitions:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
            continue
        eof.discard(m.partition())
        got.append(m.value().decode())
    c.close()
    return got


def commit_and_abort():
    create("tx-out", 2)
    p = txn_producer("tx-basic")
    p.begin_transaction()
    for i in range(100):
        p.produce("tx-out", key=str(i), value=f"committed-{i}")
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(100):
        p.produce("tx-out", key=str(i), value=f"aborted-{i}")
    p.flush()
    p.abort_transaction(30)
    p.begin_transaction()
    for i in range(50):
        p.produce("tx-out", key=str(i), value=f"second-{i}")
    p.commit_transaction(30)
    committed = read_all("tx-out", "read_committed", 2)
    everything = read_all("tx-out", "read_uncommitted", 2)
    check("read_committed sees the two committed transactions", len(committed) == 150,
          f"{len(committed)} records")
    check("read_committed sees no aborted record",
          not any(v.startswith("aborted") for v in committed))
    check("read_uncommitted sees aborted records too", len(everything) == 250,
          f"{len(everything)} records")


def open_transaction_holds_back_read_committed():
    create("tx-open", 1)
    p = txn_producer("tx-open")
    p.begin_transaction()
    p.produce("tx-open", value="pending")
    p.flush()
    plain = Producer({"bootstrap.servers": BOOTSTRAP})
    plain.produce("tx-open", value="after")
    plain.flush()
    check("an open transaction hides later records from read_committed",
          read_all("tx-open", "read_committed", 1, timeout=3) == [])
    check("read_uncommitted sees them", sorted(read_all("tx-open", "read_uncommitted", 1)) ==
          ["after", "pending"])
    p.commit_transaction(30)
    check("the commit releases them", sorted(read_all("tx-open", "read_committed", 1)) ==
          ["after", "pending"])


def zombie_is_fenced():
    create("tx-zombie", 1)
    old = txn_producer("tx-zombie")
    old.begin_transaction()
    old.produce("tx-zombie", value="zombie")
    old.flush()
    new = txn_producer("tx-zombie")  # bumps the epoch: aborts the zombie's transaction
    fenced = False
    try:
        old.produce("tx-zombie", value="zombie-2")
        old.commit_transaction(10)
    except KafkaException as e:
        fenced = e.args[0].fatal()
    check("the old instance's commit fails with a fatal (fenced) error", fenced)
    new.begin_transaction()
    new.produce("tx-zombie", value="fresh")
    new.commit_transaction(30)
    check("read_committed sees the new instance only",
          read_all("tx-zombie", "read_committed", 1) == ["fresh"])


def timeout_aborts_and_fences():
    create("tx-timeout", 1)
    p = txn_producer("tx-timeout", **{"transaction.timeout.ms": 1500})
    p.begin_transaction()
    p.produce("tx-timeout", value="too-late")
    p.flush()
    time.sleep(4)
    failed = False
    try:
        p.commit_transaction(10)
    except KafkaException:
        failed = True
    check("a transaction open past its timeout cannot commit", failed)
    other = txn_producer("tx-timeout-other")
    other.begin_transaction()
    other.produce("tx-timeout", value="later")
    other.commit_transaction(30)
    check("the timed-out transaction was aborted (the stable offset moved past it)",
          read_all("tx-timeout", "read_committed", 1) == ["later"])


def consume_transform_produce():
    create("ctp-in", 3)
    create("ctp-out", 3)
    produce_input("ctp-in", 3000)
    eos_worker("ctp-in", "ctp-out", 3000, 60)
    verify_output("ctp-out", 3000, 3)


def produce_input(topic, n):
    p = Producer({"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True})
    for i in range(n):
        p.produce(topic, key=str(i), value=f"in-{i}")
    p.flush(30)


def eos_worker(src, dst, n, seconds, min_recoveries=0, batch=200, pace=0.0):
    """The consume-transform-produce loop of every exactly-once application: read, write the
    transformed records and the input offsets in one transaction, commit; on any failure abort
    (or start a new producer instance) and rewind to the committed offsets."""
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "eos-" + src,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "isolation.level": "read_committed", "session.timeout.ms": 30000})
    consumer.subscribe([src])

    def new_producer():
        while True:
            try:
                return txn_producer("eos-" + src, **{"transaction.timeout.ms": 20000})
            except KafkaException:
                time.sleep(0.5)

    def rewind():
        while True:
            try:
                parts = consumer.assignment()
                for tp in consumer.committed(parts, 10):
                    consumer.seek(TopicPartition(tp.topic, tp.partition,
                                                 tp.offset if tp.offset >= 0 else 0))
                return
            except KafkaException:
                time.sleep(0.5)

    producer = new_producer()
    deadline = time.time() + seconds
    done = 0
    recoveries = 0
    while time.time() < deadline:
        msgs = [m for m in consumer.consume(batch, 0.5) if not m.error()]
        if not msgs:
            try:
                parts = consumer.assignment()
                done = sum(max(tp.offset, 0) for tp in consumer.committed(parts, 10))
            except KafkaException:
                continue
            if done >= n:
                break
            continue
        try:
            producer.begin_transaction()
            for m in msgs:
                producer.produce(dst, key=m.key(), value=m.value().decode().replace("in-", "out-"))
            producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                                 consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(30)
            if pace:
                time.sleep(pace)  # the job outlasts the kills, however fast this machine is
        except KafkaException as e:
            recoveries += 1
            err = e.args[0]
            if err.txn_requires_abort():
                try:
                    producer.abort_transaction(30)
                except KafkaException:
                    producer = new_producer()
            else:
                producer = new_producer()
            rewind()
    consumer.close()
    check(f"the worker committed all {n} inputs", done >= n, f"{done} committed")
    if min_recoveries:
        check(f"the worker recovered from failed transactions ({recoveries})",
              recoveries >= min_recoveries, f"want at least {min_recoveries}")
    else:  # whether a kill breaks a transaction is luck (librdkafka retries most requests)
        print(f"info the worker recovered from {recoveries} failed transaction(s)")


def verify_output(topic, n, partitions):
    out = read_all(topic, "read_committed", partitions, timeout=60)
    counts = Counter(out)
    expected = {f"out-{i}" for i in range(n)}
    missing = expected - counts.keys()
    doubled = [v for v, c in counts.items() if c > 1]
    check(f"read_committed output holds each of the {n} inputs", not missing,
          f"{len(missing)} missing, e.g. {sorted(missing)[:3]}")
    check("no input appears twice in the output", not doubled,
          f"{len(doubled)} doubled, e.g. {doubled[:3]}")
    check("nothing else is in the output", set(counts) <= expected)


if __name__ == "__main__":
    what = sys.argv[2]
    if what == "scenarios":
        commit_and_abort()
        open_transaction_holds_back_read_committed()
        zombie_is_fenced()
        timeout_aborts_and_fences()
        consume_transform_produce()
    elif what == "produce-input":
        produce_input(sys.argv[3], int(sys.argv[4]))
    elif what == "eos-worker":
        eos_worker(sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]),
                   int(sys.argv[7]), batch=20,  # many small transactions: kills land mid-job
                   pace=0.02)  # 1,000 transactions take 20 s at least: past the 5th kill
    elif what == "verify-output":
        verify_output(sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    sys.exit(1 if failures else 0)
