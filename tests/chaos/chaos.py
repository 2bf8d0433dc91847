"""The chaos run: every kind of client at once while the server is killed (-9) at random
moments and its disk fills and frees, then a history checker that proves nothing acknowledged
was lost or doubled beyond what each feature promises.

  chaos.py SLUICE_BINARY FAULTS_LIBRARY SECONDS [SEED]

Clients (threads, each keeps the history of what the server acknowledged to it):
  - an idempotent producer (acks=all) of unique ids into `events` (4 partitions): every
    acknowledged id is in the log exactly once, at the offset it was acknowledged at, and no
    id at all is there twice;
  - a plain acks=all producer into `plain`: every acknowledged id is there (at least once);
  - a consumer group on `events` committing synchronously: after every kill the group's
    committed offsets are at least the last ones acknowledged before it, and by the end the
    group has seen every acknowledged id;
  - a work queue `jobs`: an HTTP sender and two workers. Every acknowledged send is acked by a
    worker by the end, and no message is delivered again once its ack was answered "ok";
  - SQL: a view counting `events` per key and an exactly-once sink copying it: at the end the
    view's counts are the log's and the sink's topic (read_committed) holds each record once;
  - live subscribers of the view over SSE, one `every` and one `latest`, resuming with
    Last-Event-ID: sequence numbers rise within a connection, and each subscriber's table ends
    equal to the view's.

The server runs with an LD_PRELOAD shim (tests/faults) whose free-space file the chaos thread
sets to 0 ("disk full": writes are refused with KAFKA_STORAGE_ERROR / HTTP 507) and back.
Exits 0 when every check holds. Run with Debian's interpreter (python3-confluent-kafka).
"""

import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

SLUICE, FAULTS, SECONDS = sys.argv[1], sys.argv[2], float(sys.argv[3])
SEED = int(sys.argv[4]) if len(sys.argv) > 4 else int(time.time())
rng = random.Random(SEED)
KEYS = 40
FREE = str(1 << 40)

failures = 0
stopping = threading.Event()   # the chaos phase is over: clients finish what they send
quit_all = threading.Event()   # everything stops


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"), flush=True)
    if not cond:
        failures += 1


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The sluice process under test, killed and restarted by the chaos thread."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="sluice-chaos-")
        self.kport, self.hport = free_port(), free_port()
        self.brokers = f"127.0.0.1:{self.kport}"
        self.http = f"127.0.0.1:{self.hport}"
        self.free_file = os.path.join(self.work, "free")
        self.set_free(True)
        self.proc = None
        self.generation = 0  # how many times it was started
        self.lock = threading.Lock()

    def set_free(self, free):
        with open(self.free_file + ".tmp", "w") as f:
            f.write(FREE if free else "0")
        os.replace(self.free_file + ".tmp", self.free_file)

    def start(self):
        env = dict(os.environ, LD_PRELOAD=FAULTS, SLUICE_FAKE_FREE_FILE=self.free_file)
        errlog = open(os.path.join(self.work, "server.log"), "a")
        self.proc = subprocess.Popen(
            [SLUICE, "server", "--data-dir", os.path.join(self.work, "data"),
             "--kafka-addr", self.brokers, "--http-addr", self.http, "--log-level", "warn",
             "--retention-ms", "-1", "--sql-checkpoint-interval-ms", "500"],
            env=env, stdout=errlog, stderr=errlog)
        self.generation += 1
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} at start-up")
            try:
                if http_get("/ready", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become ready in 60 s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


server = Server()


def http_request(method, path, body=None, timeout=10):
    conn = http.client.HTTPConnection(server.http, timeout=timeout)
    try:
        data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
        conn.request(method, path, body=data)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def http_get(path, timeout=10):
    return http_request("GET", path, timeout=timeout)


def sql(statement):
    status, body = http_request("POST", "/v1/sql", statement)
    if status != 200:
        raise RuntimeError(f"{statement}: {status} {body[:300]}")
    return json.loads(body)["results"]


def retry(what, fn, seconds=60):
    """fn() until it does not raise: clients meet a killed server all the time."""
    deadline = time.time() + seconds
    while True:
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - any failure while the server is down
            if time.time() > deadline:
                raise RuntimeError(f"{what}: {e}") from e
            time.sleep(0.2)


# ---- producers -----------------------------------------------------------------------------

class ProducerClient(threading.Thread):
    """Produces ids 0, 1, 2.. at `rate` a second; keeps which were acknowledged and where.
    Values are the id, or for `json` a JSON object the SQL queries read."""

    def __init__(self, topic, idempotent, rate, json_values):
        super().__init__(daemon=True)
        self.topic, self.idempotent, self.rate = topic, idempotent, rate
        self.json_values = json_values
        self.acked = {}        # id -> (partition, offset)
        self.sent = 0
        self.failed = Counter()
        self.fatal = []        # fatal errors (each ended a producer)

    def new_producer(self):
        return Producer({"bootstrap.servers": server.brokers, "linger.ms": 5, "acks": "all",
                         "message.timeout.ms": 120000, "enable.idempotence": self.idempotent,
                         "reconnect.backoff.max.ms": 200, "retry.backoff.ms": 50,
                         "log_level": 2})

    def value(self, n):
        return json.dumps({"id": n, "k": f"k{n % KEYS}"}) if self.json_values else str(n)

    def id_of(self, value):
        return json.loads(value)["id"] if self.json_values else int(value)

    def on_delivery(self, err, msg):
        if err is None:
            self.acked[self.id_of(msg.value())] = (msg.partition(), msg.offset())
        else:
            self.failed[err.name()] += 1

    def replace(self, p, e):
        """A fatal error (the idempotent producer's sequence was lost) ends a producer; its
        queued records fail. Nothing is sent again: what failed was never acknowledged."""
        log(f"{self.topic} producer: {e}; a new one")
        self.fatal.append(str(e))
        try:
            p.flush(1)
        except KafkaException:
            pass
        return self.new_producer()

    def run(self):
        p = self.new_producer()
        start = time.time()
        while not stopping.is_set():
            due = int((time.time() - start) * self.rate)
            while self.sent < due and not stopping.is_set():
                try:
                    p.produce(self.topic, key=f"k{self.sent % KEYS}", value=self.value(self.sent),
                              on_delivery=self.on_delivery)
                    self.sent += 1
                except BufferError:
                    p.poll(0.05)
                except KafkaException as e:
                    p = self.replace(p, e)
            try:
                p.poll(0.01)
            except KafkaException as e:
                p = self.replace(p, e)
        try:
            left = p.flush(150)
        except KafkaException as e:
            self.fatal.append(str(e))
            left = 0
        check(f"{self.topic}: every record sent was delivered or failed by the end", left == 0,
              f"{left} still queued")


# ---- consumer group --------------------------------------------------------------------------

class GroupConsumer(threading.Thread):
    GROUP = "chaos-group"

    def __init__(self, topic):
        super().__init__(daemon=True)
        self.topic = topic
        self.seen = set()
        self.commits = 0
        self.commit_errors = 0
        self.acked_commit = {}  # partition -> highest offset whose commit was acknowledged
        self.lock = threading.Lock()

    def run(self):
        while not quit_all.is_set():
            try:
                self.consume()
            except Exception as e:  # noqa: BLE001
                log(f"consumer: {e}; a new one")
                time.sleep(0.2)

    def consume(self):
        c = Consumer({"bootstrap.servers": server.brokers, "group.id": self.GROUP,
                      "auto.offset.reset": "earliest", "enable.auto.commit": False,
                      "session.timeout.ms": 6000, "reconnect.backoff.max.ms": 200,
                      "log_level": 2})
        c.subscribe([self.topic])
        last_commit = time.time()
        try:
            while not quit_all.is_set():
                for m in c.consume(500, 0.2):
                    if not m.error():
                        self.seen.add(json.loads(m.value())["id"])
                if time.time() - last_commit > 0.3:
                    last_commit = time.time()
                    try:
                        done = c.commit(asynchronous=False)
                    except KafkaException as e:
                        if e.args[0].code() != KafkaError._NO_OFFSET:  # nothing new to commit
                            self.commit_errors += 1
                        continue
                    with self.lock:
                        self.commits += 1
                        for tp in done or []:
                            if tp.error is None and tp.offset >= 0:
                                self.acked_commit[tp.partition] = max(
                                    self.acked_commit.get(tp.partition, -1), tp.offset)
        finally:
            c.close()

    def snapshot(self):
        with self.lock:
            return dict(self.acked_commit)


def committed_offsets(topic, partitions):
    c = Consumer({"bootstrap.servers": server.brokers, "group.id": GroupConsumer.GROUP,
                  "enable.auto.commit": False, "log_level": 2})
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=20)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()


# ---- work queue ------------------------------------------------------------------------------

class QueueSender(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.acked = set()
        self.next = 0
        self.refused = Counter()

    def run(self):
        while not stopping.is_set():
            batch = list(range(self.next, self.next + 10))
            try:
                status, body = http_request("POST", "/v1/queues/jobs/messages",
                                            {"messages": [{"value": {"id": i}} for i in batch]})
            except OSError:
                time.sleep(0.1)
                continue
            if status == 200:
                self.acked.update(batch)
                self.next += 10
            else:
                self.refused[status] += 1  # not acknowledged: sent again with the same ids
                time.sleep(0.05)
            time.sleep(0.02)


class QueueWorker(threading.Thread):
    acked_ok = set()        # ids whose ack was answered "ok" (shared by the workers)
    acked_at = set()        # (partition, offset) of those messages
    ack_unknown = set()     # ids whose ack got no answer
    late = []               # deliveries of an id after its ack was answered "ok"
    deliveries = Counter()
    lock = threading.Lock()

    def __init__(self, name):
        super().__init__(daemon=True)
        self.name_ = name

    def run(self):
        while not quit_all.is_set():
            try:
                status, body = http_request("POST", "/v1/queues/jobs/receive",
                                            {"max_messages": 20, "wait_ms": 300,
                                             "consumer": self.name_})
            except OSError:
                time.sleep(0.1)
                continue
            if status != 200:
                time.sleep(0.1)
                continue
            messages = json.loads(body)["messages"]
            receipts, ids = [], []
            with self.lock:
                for m in messages:
                    value = m["value"]
                    i = (json.loads(value) if isinstance(value, str) else value)["id"]
                    self.deliveries[i] += 1
                    # A send whose answer was lost is sent again, so an id can be in the topic
                    # twice: what must not come back is the message (partition, offset).
                    if (m["partition"], m["offset"]) in self.acked_at:
                        self.late.append((i, m["partition"], m["offset"], m["attempt"]))
                    receipts.append(m["receipt"])
                    ids.append((i, m["partition"], m["offset"]))
            if not receipts:
                continue
            try:
                status, body = http_request("POST", "/v1/queues/jobs/ack", {"receipts": receipts})
            except OSError:
                status = None
            with self.lock:
                if status == 200:
                    for (i, p, o), result in zip(ids, json.loads(body)["results"]):
                        if result == "ok":
                            self.acked_ok.add(i)
                            self.acked_at.add((p, o))
                else:
                    # No answer (the server was killed) or not made durable: the ack may have
                    # been written before the end, and then the message is settled.
                    self.ack_unknown.update(i for i, _, _ in ids)


# ---- live subscribers ------------------------------------------------------------------------

class Subscriber(threading.Thread):
    """Keeps the view's table from its SSE events, resuming with Last-Event-ID."""

    def __init__(self, view, key, mode):
        super().__init__(daemon=True)
        self.view, self.key, self.mode = view, key, mode
        self.table = {}
        self.last_id = None
        self.connections = self.snapshots = self.changes = self.errors = 0
        self.disorder = []
        self.lock = threading.Lock()

    def run(self):
        while not quit_all.is_set():
            try:
                self.follow()
            except (OSError, http.client.HTTPException, ValueError):
                pass
            time.sleep(0.1)

    def follow(self):
        conn = http.client.HTTPConnection(server.http, timeout=30)
        headers = {"Accept": "text/event-stream"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id
        conn.request("GET", f"/v1/views/{self.view}/events?mode={self.mode}", headers=headers)
        resp = conn.getresponse()
        if resp.status != 200:
            conn.close()
            return
        self.connections += 1
        seq, event, data = -1, None, []
        try:
            while not quit_all.is_set():
                line = resp.fp.readline()
                if not line:
                    return
                line = line.decode().rstrip("\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "" and data:
                    seq = self.apply(event, json.loads("\n".join(data)), seq)
                    event, data = None, []
        finally:
            conn.close()

    def apply(self, event, msg, seq):
        with self.lock:
            if event == "snapshot":
                self.snapshots += 1
                self.table = {json.dumps(k): r for k, r in zip(msg["keys"], msg["rows"])}
            elif event == "changes":
                for c in msg["changes"]:
                    if c["seq"] <= seq:
                        self.disorder.append((seq, c["seq"]))
                    seq = c["seq"]
                    key = json.dumps(c["key"])
                    if c["op"] == "delete":
                        self.table.pop(key, None)
                    else:
                        self.table[key] = c["row"]
                    self.changes += 1
            elif event == "error":
                self.errors += 1
                return seq
            else:
                return seq
            self.last_id = str(msg["seq"])
            return msg["seq"]

    def counts(self):
        with self.lock:
            return {r[self.key]: r["n"] for r in self.table.values()}


def view_rows(view, key):
    status, body = http_get(f"/v1/views/{view}")
    if status != 200:
        raise RuntimeError(f"GET /v1/views/{view}: {status}")
    return {r[key]: r["n"] for r in json.loads(body)["rows"]}


def view_counts():
    return view_rows("counts", "k")


# ---- reading the log back --------------------------------------------------------------------

def read_topic(topic, partitions, isolation="read_uncommitted"):
    """[(partition, offset, value)] of every record of `topic`."""
    c = Consumer({"bootstrap.servers": server.brokers, "group.id": f"reader-{time.time()}",
                  "enable.auto.commit": False, "isolation.level": isolation,
                  "enable.partition.eof": True, "log_level": 2})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, eof, deadline = [], set(), time.time() + 120
    while len(eof) < partitions and time.time() < deadline:
        for m in c.consume(1000, 0.5):
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    eof.add(m.partition())
                continue
            got.append((m.partition(), m.offset(), m.value()))
    c.close()
    if len(eof) < partitions:
        raise RuntimeError(f"{topic}: did not reach the end of every partition")
    return got


def wait_until(what, cond, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if cond():
                return True
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.25)
    log(f"gave up waiting: {what}")
    return False


# ---- the run ---------------------------------------------------------------------------------

def setup():
    admin = AdminClient({"bootstrap.servers": server.brokers})
    for f in admin.create_topics([NewTopic("events", 4, 1), NewTopic("plain", 2, 1)]).values():
        f.result()
    status, body = http_request("POST", "/v1/queues",
                                {"name": "jobs", "partitions": 2, "visibility_timeout_ms": 3000,
                                 "max_deliveries": 1000000})
    if status != 201:
        raise RuntimeError(f"create queue: {status} {body}")
    sql("CREATE STREAM ev (id BIGINT, k VARCHAR) WITH (topic = 'events')")
    sql("CREATE MATERIALIZED VIEW counts AS SELECT k, COUNT(*) AS n FROM ev GROUP BY k")
    # Each bucket of ten ids is updated ten times and then never again: a subscriber that
    # misses one of its last changes keeps a wrong row to the end.
    sql("CREATE MATERIALIZED VIEW buckets WITH (max_rows = '10000000') AS "
        "SELECT id / 10 AS b, COUNT(*) AS n FROM ev GROUP BY id / 10")
    sql("CREATE SINK copy INTO TOPIC 'events-copy' AS SELECT id, k FROM ev")


def chaos(group):
    """Kills the server at random moments and fills and frees its disk, for SECONDS."""
    kills, fills, lost_commits = 0, 0, []
    end = time.time() + SECONDS
    next_kill = time.time() + rng.uniform(3, 12)
    next_fill = time.time() + rng.uniform(4, 10)
    full_until = None
    while time.time() < end:
        now = time.time()
        if full_until is not None and now >= full_until:
            server.set_free(True)
            full_until = None
            next_fill = now + rng.uniform(4, 12)
        elif full_until is None and now >= next_fill:
            server.set_free(False)
            fills += 1
            full_until = now + rng.uniform(0.5, 4)
        if now >= next_kill:
            before = group.snapshot()
            server.kill()
            kills += 1
            server.start()
            after = retry("committed offsets", lambda: committed_offsets("events", 4))
            for p, off in before.items():
                if after.get(p, -1) < off:
                    lost_commits.append((kills, p, off, after.get(p)))
            log(f"kill {kills}: restarted (generation {server.generation})")
            next_kill = time.time() + rng.uniform(2, 12)
        time.sleep(0.05)
    server.set_free(True)
    return kills, fills, lost_commits


def main():
    log(f"chaos run: {SECONDS:.0f} s, seed {SEED}, data in {server.work}")
    server.start()
    setup()
    events = ProducerClient("events", True, 1500, True)
    plain = ProducerClient("plain", False, 500, False)
    group = GroupConsumer("events")
    sender = QueueSender()
    workers = [QueueWorker("w1"), QueueWorker("w2")]
    subscribers = [Subscriber("counts", "k", "every"), Subscriber("counts", "k", "latest"),
                   Subscriber("buckets", "b", "every"), Subscriber("buckets", "b", "latest")]
    clients = [events, plain, group, sender, *workers, *subscribers]
    for c in clients:
        c.start()

    kills, fills, lost_commits = chaos(group)
    log("chaos over: clients finish")
    stopping.set()
    events.join()
    plain.join()
    sender.join()

    # The histories, against the log.
    log_events = read_topic("events", 4)
    by_id = Counter(json.loads(v)["id"] for _, _, v in log_events)
    where = {json.loads(v)["id"]: (p, o) for p, o, v in log_events}
    lost = [i for i in events.acked if i not in by_id]
    doubled = [i for i, n in by_id.items() if n > 1]
    misplaced = [i for i, at in events.acked.items() if i in where and where[i] != at]
    check("idempotent producer: no acknowledged record lost", not lost,
          f"{len(lost)} lost, e.g. {lost[:5]}")
    check("idempotent producer: no record written twice", not doubled,
          f"{len(doubled)} doubled, e.g. {doubled[:5]}")
    check("idempotent producer: each record at the offset it was acknowledged at", not misplaced,
          f"{len(misplaced)} elsewhere, e.g. {[(i, events.acked[i], where[i]) for i in misplaced[:3]]}")

    log_plain = Counter(int(v) for _, _, v in read_topic("plain", 2))
    lost_plain = [i for i in plain.acked if i not in log_plain]
    check("acks=all producer: no acknowledged record lost", not lost_plain,
          f"{len(lost_plain)} lost, e.g. {lost_plain[:5]}")

    check("consumer group: no acknowledged commit lost across a kill", not lost_commits,
          f"(kill, partition, acknowledged, committed after): {lost_commits[:5]}")
    wait_until("the group saw every record", lambda: set(events.acked) <= group.seen, 120)
    unseen = set(events.acked) - group.seen
    check("consumer group: every acknowledged record consumed", not unseen,
          f"{len(unseen)} never seen")

    settled = lambda: QueueWorker.acked_ok | QueueWorker.ack_unknown  # noqa: E731
    wait_until("the workers acked every message", lambda: sender.acked <= settled(), 120)
    unacked = sender.acked - settled()
    check("queue: every acknowledged send acked by a worker (or its ack's answer lost)",
          not unacked, f"{len(unacked)} not acked, e.g. {sorted(unacked)[:5]}")
    undelivered = [i for i in sender.acked if not QueueWorker.deliveries[i]]
    check("queue: every acknowledged send delivered", not undelivered,
          f"{len(undelivered)} never delivered, e.g. {sorted(undelivered)[:5]}")
    check("queue: nothing delivered again after its ack was answered ok", not QueueWorker.late,
          f"{len(QueueWorker.late)} late deliveries (id, partition, offset, attempt): "
          f"{QueueWorker.late[:5]}")

    expected = Counter(json.loads(v)["k"] for _, _, v in log_events)
    wait_until("the view counted the log", lambda: view_counts() == expected, 120)
    got = view_counts()
    check("view: the counts per key are the log's (no record lost or counted twice)",
          got == expected,
          f"{sum(got.values())} counted, {sum(expected.values())} in the log; differing keys "
          f"{[(k, got.get(k), expected[k]) for k in expected if got.get(k) != expected[k]][:5]}")
    expected_buckets = Counter(json.loads(v)["id"] // 10 for _, _, v in log_events)
    wait_until("the buckets view counted the log",
               lambda: view_rows("buckets", "b") == expected_buckets, 60)
    check("view: the buckets are the log's", view_rows("buckets", "b") == expected_buckets)
    for s in subscribers:
        want = view_rows(s.view, s.key)
        wait_until(f"the {s.mode} subscriber of {s.view} converged", lambda: s.counts() == want, 60)
        have = s.counts()
        wrong = [(k, have.get(k), n) for k, n in want.items() if have.get(k) != n]
        check(f"live subscriber ({s.view}, {s.mode}): its table ends equal to the view's",
              have == want, f"{len(wrong)} rows differ (key, subscriber's, view's): {wrong[:5]}")
        check(f"live subscriber ({s.view}, {s.mode}): sequence numbers rise within a connection",
              not s.disorder, f"{s.disorder[:5]}")

    def copied():
        return Counter(json.loads(v)["id"]
                       for _, _, v in read_topic("events-copy", 1, "read_committed"))
    # The sink's query may still be replaying after the last kill; its output appears with
    # each checkpoint's commit.
    wait_until("the sink committed its copy", lambda: copied() == by_id, 120)
    copy = copied()
    check("exactly-once sink: each record of the log copied exactly once (read_committed)",
          copy == by_id, f"{sum(copy.values())} copied, {sum(by_id.values())} in the log; "
          f"{len([i for i in by_id if copy[i] != by_id[i]])} ids differ")

    quit_all.set()
    group.join()
    code = server.stop()
    check("the server stops cleanly at the end", code == 0, f"exit status {code}")

    print(f"counts: {kills} kills, {fills} disk-full periods; events: {events.sent} sent, "
          f"{len(events.acked)} acknowledged, {sum(events.failed.values())} failed "
          f"{dict(events.failed)}, {len(events.fatal)} fatal producer errors; plain: {len(plain.acked)} acknowledged, "
          f"{sum(n - 1 for n in log_plain.values() if n > 1)} duplicates (at-least-once); "
          f"group: {group.commits} commits acknowledged, {group.commit_errors} failed; "
          f"queue: {len(sender.acked)} sends acknowledged, {dict(sender.refused)} refused, "
          f"{sum(QueueWorker.deliveries.values())} deliveries, {len(QueueWorker.acked_ok)} acked, {len(QueueWorker.ack_unknown)} acks unanswered; "
          + "; ".join(f"subscriber {s.view}/{s.mode}: {s.connections} connections, {s.snapshots} "
                      f"snapshots, {s.changes} changes, {s.errors} error events"
                      for s in subscribers), flush=True)
    print(f"{'FAILED' if failures else 'passed'}: {failures} checks failed (seed {SEED})")
    if not failures and not os.environ.get("CHAOS_KEEP"):
        shutil.rmtree(server.work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
