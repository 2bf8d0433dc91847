# kafka-python (which shares no code with librdkafka) against sluice: SASL PLAIN over TLS,
# an ACL denial, and a producer throttled to its quota.
# usage: security_test.py HOST:SASL_SSL_PORT CA_FILE
import sys
import time

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import TopicAuthorizationFailedError, KafkaTimeoutError

broker, ca = sys.argv[1], sys.argv[2]
common = dict(bootstrap_servers=broker, security_protocol="SASL_SSL", sasl_mechanism="PLAIN",
              ssl_cafile=ca, ssl_check_hostname=True, api_version=(2, 5, 0))

p = KafkaProducer(sasl_plain_username="alice", sasl_plain_password="alice-secret", **common)
p.send("orders", b"from-kafka-python").get(timeout=20)

# alice may not write "secret": kafka-python surfaces the broker's error code.
try:
    p.send("secret", b"x").get(timeout=20)
    print("FAIL kafka-python wrote a topic its ACLs deny")
    sys.exit(1)
except (TopicAuthorizationFailedError, KafkaTimeoutError) as e:
    print("ok   kafka-python: write to a denied topic refused (%s)" % type(e).__name__)

c = KafkaConsumer("orders", group_id="g-bob", sasl_plain_username="bob",
                  sasl_plain_password="bob-secret", auto_offset_reset="earliest",
                  consumer_timeout_ms=8000, **common)
values = [m.value for m in c]
c.close()
if b"from-kafka-python" not in values:
    print("FAIL kafka-python consumer read %r" % values[:5])
    sys.exit(1)
print("ok   kafka-python: PLAIN over TLS, produced and consumed (%d records)" % len(values))

# carol's quota is 100 kB/s: 600 kB take at least ~4 s (one second of burst), where the same
# producer without a quota takes well under one.
q = KafkaProducer(sasl_plain_username="carol", sasl_plain_password="carol-secret",
                  batch_size=16384, linger_ms=5, **common)
payload = b"x" * 10000
start = time.time()
for _ in range(60):
    q.send("quota-topic", payload)
q.flush(timeout=60)
took = time.time() - start
if took < 3.5:
    print("FAIL carol's 600 kB took %.2f s under a 100 kB/s quota" % took)
    sys.exit(1)
print("ok   kafka-python: quota 100 kB/s, 600 kB took %.2f s" % took)
