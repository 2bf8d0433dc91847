#!/usr/bin/env bash
# Security against the started binary with real clients: TLS (and mutual TLS) with
# certificates made here by openssl, SASL PLAIN and SCRAM from kcat (librdkafka), kafka-python
# and kafkajs, ACLs on Kafka and HTTP, API tokens, HTTPS with SSE and WebSocket (curl, Python's
# ssl, Chromium), a quota, certificate reload on SIGHUP, and the refusal to listen on the
# network without authentication.
set -uo pipefail
sluice=${1:?usage: security_test.sh PATH_TO_SLUICE}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/server_lib.sh"
server_init "$sluice"
(cd "$here/kafkajs" && npm ci --no-audit --no-fund --silent)
(cd "$here/dashboard" && npm ci --no-audit --no-fund --silent)
pki=$work/pki
mkdir -p "$pki"

# A CA, the server's certificate (localhost, 127.0.0.1) and a client certificate for mTLS.
make_server_cert() {  # make_server_cert SERIAL
  openssl req -newkey rsa:2048 -nodes -keyout "$pki/server.key.new" -out "$pki/server.csr" \
    -subj "/CN=localhost" 2>/dev/null
  printf "subjectAltName=DNS:localhost,IP:127.0.0.1\n" >"$pki/san.ext"
  openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -set_serial "$1" \
    -out "$pki/server.pem.new" -days 2 -extfile "$pki/san.ext" 2>/dev/null
  mv "$pki/server.key.new" "$pki/server.key"
  mv "$pki/server.pem.new" "$pki/server.pem"
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 \
  -subj "/CN=sluice test CA" 2>/dev/null
make_server_cert 1001
openssl req -newkey rsa:2048 -nodes -keyout "$pki/device.key" -out "$pki/device.csr" \
  -subj "/O=Acme/CN=device-7" 2>/dev/null
openssl x509 -req -in "$pki/device.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -set_serial 7 \
  -out "$pki/device.pem" -days 2 2>/dev/null

data=$work/data
for u in alice bob carol admin; do
  "$sluice" user add "$u" --password "$u-secret" --data-dir "$data" >/dev/null
done
acl() { "$sluice" acl add --data-dir "$data" "$@" >/dev/null; }
acl --allow --principal User:alice --operation WRITE --operation READ --operation CREATE --topic orders
acl --allow --principal User:alice --operation DESCRIBE --cluster
acl --allow --principal User:bob --operation READ --topic ord --prefixed
acl --allow --principal User:bob --operation READ --group g-bob
acl --deny --principal User:bob --operation READ --topic order-secrets
acl --allow --principal User:carol --operation WRITE --operation CREATE --topic quota-topic
acl --allow --principal "User:CN=device-7,O=Acme" --operation READ --topic orders
acl --allow --principal User:alice --operation ALL --view order_counts
"$sluice" quota set --user carol --producer-byte-rate 100000 --data-dir "$data" >/dev/null
check "sluice acl list shows the bindings (one per operation)" 11 "$("$sluice" acl list --data-dir "$data" | wc -l)"

ssl_port=$(free_port)
mtls_port=$(free_port)
https_port=$(free_port)
https=https://localhost:$https_port
sasl_port=$kport
start_secured() {
  "$sluice" server --data-dir "$data" --log-level info \
    --http-listeners "http://127.0.0.1:$hport,https://127.0.0.1:$https_port" \
    --listeners "SASL_PLAINTEXT://127.0.0.1:$sasl_port,SASL_SSL://127.0.0.1:$ssl_port,SSL://127.0.0.1:$mtls_port" \
    --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" --tls-ca "$pki/ca.pem" \
    --tls-client-auth requested --super-users "User:admin" >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    curl -sf "$http/ready" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "server did not start"; cat "$work/server.log"; exit 1
}
start_secured

sasl() {  # sasl PORT PROTOCOL MECHANISM USER PASSWORD kcat-args...
  local port=$1 proto=$2 mech=$3 user=$4 pass=$5
  shift 5
  timeout 30 kcat -b "127.0.0.1:$port" -X security.protocol="$proto" -X sasl.mechanisms="$mech" \
    -X sasl.username="$user" -X sasl.password="$pass" -X ssl.ca.location="$pki/ca.pem" "$@"
}

# --- SASL and TLS with kcat (librdkafka) ---
echo "k1:hello" | sasl "$ssl_port" SASL_SSL SCRAM-SHA-512 alice alice-secret -P -t orders -K: 2>"$work/e1"
check "kcat SCRAM-SHA-512 over TLS produces" 0 $?
out=$(sasl "$ssl_port" SASL_SSL PLAIN bob bob-secret -C -t orders -e -q 2>/dev/null)
check "kcat PLAIN over TLS consumes what SCRAM produced" "hello" "$out"
out=$(sasl "$sasl_port" SASL_PLAINTEXT SCRAM-SHA-256 bob bob-secret -C -t orders -e -q 2>/dev/null)
check "kcat SCRAM-SHA-256 on SASL_PLAINTEXT consumes" "hello" "$out"
err=$(sasl "$sasl_port" SASL_PLAINTEXT SCRAM-SHA-512 alice wrong -L 2>&1)
if [[ $err == *"Authentication failed"* ]]; then ok "a wrong password: SASL_AUTHENTICATION_FAILED"; else fail "wrong password: $err"; fi
if grep -q "failed login from 127.0.0.1 as user 'alice'" "$work/server.log" &&
   ! grep -q "wrong" "$work/server.log"; then
  ok "the failed login is logged with address and user, never the secret"
else
  fail "failed login log"
fi
# Before authenticating, only ApiVersions and SASL are served: Metadata closes the connection.
closed=$(/usr/bin/python3 - "$sasl_port" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
body = struct.pack(">hhih", 3, 1, 1, 4) + b"test" + struct.pack(">i", -1)
s.sendall(struct.pack(">i", len(body)) + body)
s.settimeout(5)
print("closed" if s.recv(4) == b"" else "answered")
PY
)
check "Metadata before SASL authentication: connection closed, nothing read" closed "$closed"

# --- ACLs on Kafka ---
err=$(echo "x" | sasl "$sasl_port" SASL_PLAINTEXT SCRAM-SHA-512 bob bob-secret -X message.timeout.ms=5000 -P -t orders 2>&1)
if [[ $err == *"Topic authorization failed"* ]]; then ok "bob may not write orders"; else fail "bob wrote orders: $err"; fi
echo "s1" | sasl "$sasl_port" SASL_PLAINTEXT SCRAM-SHA-512 admin admin-secret -P -t order-secrets 2>/dev/null
check "a super user writes anywhere" 0 $?
echo "p1" | sasl "$sasl_port" SASL_PLAINTEXT SCRAM-SHA-512 admin admin-secret -P -t payroll 2>/dev/null
err=$(sasl "$sasl_port" SASL_PLAINTEXT SCRAM-SHA-512 bob bob-secret -C -t order-secrets -e 2>&1)
if [[ $err == *"authorization failed"* ]]; then ok "a DENY beats bob's prefixed ALLOW"; else fail "deny: $err"; fi
topics=$(sasl "$sasl_port" SASL_PLAINTEXT SCRAM-SHA-512 bob bob-secret -L -J 2>/dev/null |
  /usr/bin/python3 -c 'import json,sys; print(",".join(sorted(t["topic"] for t in json.load(sys.stdin)["topics"])))')
# READ (prefix "ord") implies DESCRIBE, and a DENY of READ does not deny DESCRIBE (Kafka's rules).
check "Metadata shows bob only the topics he may describe" "order-secrets,orders" "$topics"
err=$(sasl "$sasl_port" SASL_PLAINTEXT SCRAM-SHA-512 bob bob-secret -G g-other orders -e 2>&1)
if [[ $err == *"Group authorization failed"* ]]; then ok "bob may not use group g-other"; else fail "group: $err"; fi
out=$(sasl "$sasl_port" SASL_PLAINTEXT SCRAM-SHA-512 bob bob-secret -X auto.offset.reset=earliest -G g-bob orders -e -q 2>/dev/null)
check "bob consumes in his group" "hello" "$out"

# --- CreateAcls / DescribeAcls / DeleteAcls from an admin client (kafka-python) ---
/usr/bin/python3 - "$sasl_port" <<'PY' && ok "CreateAcls, DescribeAcls and DeleteAcls from kafka-python's admin client" || fail "ACL admin API"
import sys
from kafka.admin import (KafkaAdminClient, ACL, ACLFilter, ResourcePattern, ResourcePatternFilter,
                         ACLOperation, ACLPermissionType, ResourceType, ACLResourcePatternType)
def admin(user):
    return KafkaAdminClient(bootstrap_servers="127.0.0.1:" + sys.argv[1],
                            security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                            sasl_plain_username=user, sasl_plain_password=user + "-secret",
                            api_version=(2, 5, 0))
a = admin("admin")
acl = ACL("User:bob", "*", ACLOperation.WRITE, ACLPermissionType.ALLOW,
          ResourcePattern(ResourceType.TOPIC, "bobs", ACLResourcePatternType.LITERAL))
r = a.create_acls([acl])
assert r["succeeded"] and not r["failed"], r
f = ACLFilter("User:bob", None, ACLOperation.ANY, ACLPermissionType.ANY,
              ResourcePatternFilter(ResourceType.TOPIC, "bobs", ACLResourcePatternType.ANY))
found, err = a.describe_acls(f)
assert len(found) == 1 and found[0].operation == ACLOperation.WRITE, found
b = admin("bob")
r = b.create_acls([acl])
assert r["failed"] and not r["succeeded"], r
assert "ClusterAuthorizationFailed" in str(r["failed"][0][1]), r
deleted = a.delete_acls([f])
assert len(deleted[0][1]) == 1, deleted
found, err = a.describe_acls(f)
assert not found, found
PY

# --- mutual TLS: the certificate's subject is the principal ---
out=$(kcat -b "127.0.0.1:$mtls_port" -X security.protocol=SSL -X ssl.ca.location="$pki/ca.pem" \
  -X ssl.certificate.location="$pki/device.pem" -X ssl.key.location="$pki/device.key" \
  -C -t orders -e -q 2>/dev/null)
check "mTLS: device-7's certificate reads orders" "hello" "$out"
err=$(kcat -b "127.0.0.1:$mtls_port" -X security.protocol=SSL -X ssl.ca.location="$pki/ca.pem" \
  -C -t orders -e 2>&1)
if [[ $err == *"authorization failed"* ]]; then ok "TLS without a client certificate is ANONYMOUS: denied"; else fail "anonymous TLS: $err"; fi
if echo | openssl s_client -connect "127.0.0.1:$ssl_port" -tls1_1 >/dev/null 2>&1; then
  fail "TLS 1.1 accepted"
else ok "TLS 1.1 refused"; fi
serial=$(echo | openssl s_client -connect "127.0.0.1:$ssl_port" -tls1_2 -CAfile "$pki/ca.pem" 2>/dev/null |
  openssl x509 -noout -serial 2>/dev/null)
check "TLS 1.2 served with the certificate" "serial=03E9" "$serial"

# --- kafka-python and kafkajs (no code shared with librdkafka) ---
/usr/bin/python3 "$here/security_test.py" "127.0.0.1:$ssl_port" "$pki/ca.pem" && ok "kafka-python" || fail "kafka-python"
node "$here/kafkajs/security.mjs" "127.0.0.1:$ssl_port" "$pki/ca.pem" && ok "kafkajs SCRAM over TLS" || fail "kafkajs"

# --- HTTP: Basic, tokens, ACLs on routes ---
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "HTTP /health needs nothing" 200 "$(code "$http/health")"
check "HTTP /metrics without credentials: 401" 401 "$(code "$http/metrics")"
check "HTTP /metrics as alice (DESCRIBE cluster)" 200 "$(code -u alice:alice-secret "$http/metrics")"
check "HTTP /metrics as bob: 403" 403 "$(code -u bob:bob-secret "$http/metrics")"
check "HTTP wrong password: 401" 401 "$(code -u bob:nope "$http/metrics")"
token=$("$sluice" token create --user alice --name test --data-dir "$data" 2>/dev/null)
check "HTTP bearer token of alice" 200 "$(code -H "Authorization: Bearer $token" "$http/metrics")"
rec='{"records":[{"value":{"n":1}}]}'
ctype='Content-Type: application/vnd.kafka.json.v2+json'
check "REST produce as alice" 200 "$(code -u alice:alice-secret -H "$ctype" -d "$rec" "$http/topics/orders")"
check "REST produce as bob: 403" 403 "$(code -u bob:bob-secret -H "$ctype" -d "$rec" "$http/topics/orders")"
stmt="CREATE STREAM orders_s (n INT) WITH (topic = 'orders', format = 'json')"
check "SQL CREATE STREAM as bob: 403" 403 "$(code -u bob:bob-secret --data-binary "$stmt" "$http/v1/sql")"
check "SQL CREATE STREAM as alice" 200 "$(code -u alice:alice-secret --data-binary "$stmt" "$http/v1/sql")"
view="CREATE MATERIALIZED VIEW order_counts AS SELECT COUNT(*) AS n FROM orders_s"
check "SQL CREATE VIEW as bob: 403" 403 "$(code -u bob:bob-secret --data-binary "$view" "$http/v1/sql")"
check "SQL CREATE VIEW as alice" 200 "$(code -u alice:alice-secret --data-binary "$view" "$http/v1/sql")"
check "view read as bob: 403" 403 "$(code -u bob:bob-secret "$http/v1/views/order_counts")"
check "view read as alice" 200 "$(code -u alice:alice-secret "$http/v1/views/order_counts")"
check "view SSE as bob: 403" 403 "$(code -u bob:bob-secret "$http/v1/views/order_counts/events")"
node "$here/dashboard/login.mjs" "$http" /usr/bin/chromium alice alice-secret order_counts &&
  ok "dashboard login in Chromium" || fail "dashboard login in Chromium"
# REST Proxy consumer instances: the creator's topics only, its instance its own.
kv='Content-Type: application/vnd.kafka.v2+json'
check "REST consumer instance for bob in g-bob" 200 \
  "$(code -u bob:bob-secret -H "$kv" -d '{"name":"b1","format":"json","auto.offset.reset":"earliest"}' "$http/consumers/g-bob")"
base="$http/consumers/g-bob/instances/b1"
check "REST subscription to a denied topic: 403" 403 \
  "$(code -u bob:bob-secret -H "$kv" -d '{"topics":["order-secrets"]}' "$base/subscription")"
check "REST assignment of a denied topic: 403" 403 \
  "$(code -u bob:bob-secret -H "$kv" -d '{"partitions":[{"topic":"order-secrets","partition":0}]}' "$base/assignments")"
check "REST instance of bob used by admin: 403" 403 "$(code -u admin:admin-secret "$base/subscription")"
check "REST pattern subscription ^order.*" 204 \
  "$(code -u bob:bob-secret -H "$kv" -d '{"topic_pattern":"order.*"}' "$base/subscription")"
got=""
for i in $(seq 1 20); do  # until orders arrived, then two more polls (order-secrets would come too)
  got+=$(curl -s -u bob:bob-secret -H 'Accept: application/vnd.kafka.json.v2+json' "$base/records?timeout=500")
  [[ $got == *'"topic":"orders"'* ]] && { [ -n "${seen:-}" ] && [ "$i" -ge "$((seen + 2))" ] && break; seen=${seen:-$i}; }
done
if [[ $got == *'"topic":"orders"'* && $got != *order-secrets* ]]; then
  ok "REST records of a pattern: orders delivered, the denied order-secrets skipped"
else
  fail "REST pattern records: $got"
fi
code -u bob:bob-secret -X DELETE "$base" >/dev/null
"$sluice" token revoke --user alice --data-dir "$data" >/dev/null
check "HTTP revoked token: 401" 401 "$(code -H "Authorization: Bearer $token" "$http/metrics")"
login=$(curl -s -d '{"user":"alice","password":"alice-secret"}' "$http/v1/login" |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
check "dashboard login token works for the API" 200 "$(code -H "Authorization: Bearer $login" "$http/metrics")"
check "?access_token= for EventSource" 200 "$(code "$http/metrics?access_token=$login")"

# --- HTTPS: the same API, SSE and WebSocket over TLS, client certificates ---
tcode() { curl -s -o /dev/null -w '%{http_code}' --cacert "$pki/ca.pem" "$@"; }
check "HTTPS /metrics as alice" 200 "$(tcode -u alice:alice-secret "$https/metrics")"
check "HTTPS /metrics without credentials: 401" 401 "$(tcode "$https/metrics")"
reused=$(curl -sv --cacert "$pki/ca.pem" -u alice:alice-secret "$https/health" "$https/metrics" 2>&1 |
  grep -c "Re-using existing connection")
check "HTTPS keep-alive: the second request reuses the TLS connection" 1 "$reused"
who=$(curl -s --cacert "$pki/ca.pem" --cert "$pki/device.pem" --key "$pki/device.key" "$https/v1/whoami")
check "HTTPS mutual TLS: the certificate's subject is the principal" \
  '{"principal":"User:CN=device-7,O=Acme","authenticated":true,"security":true}' "$who"
curl -s -N --max-time 3 --cacert "$pki/ca.pem" --cert "$pki/device.pem" --key "$pki/device.key" \
  "$https/v1/topics/orders/events?from=beginning" >"$work/tail.sse"
if grep -q '"value":"hello"' "$work/tail.sse"; then ok "HTTPS SSE: device-7 tails orders with its certificate"; else fail "HTTPS SSE tail: $(head -c 300 "$work/tail.sse")"; fi
check "HTTPS SSE: device-7 may not tail payroll" 403 \
  "$(tcode --cert "$pki/device.pem" --key "$pki/device.key" "$https/v1/topics/payroll/events")"
ws=$(/usr/bin/python3 "$here/wss_client.py" localhost "$https_port" /v1/views/order_counts/ws "$pki/ca.pem" alice:alice-secret 2>&1)
if [[ $ws == "HTTP/1.1 101"*'"type":"snapshot"'*"close answered" ]]; then ok "wss: a view's snapshot over a verified TLS WebSocket, clean close"; else fail "wss: $ws"; fi
ws=$(/usr/bin/python3 "$here/wss_client.py" localhost "$https_port" /v1/views/order_counts/ws "$pki/ca.pem" bob:bob-secret 2>&1)
check "wss as bob: 403" "HTTP/1.1 403 Forbidden" "$ws"
curl -s -N --max-time 4 --cacert "$pki/ca.pem" -u alice:alice-secret -H 'Accept: application/x-ndjson' \
  --data-binary "SELECT n FROM orders_s EMIT CHANGES" "$https/v1/sql" >"$work/push.ndjson" &
push=$!
sleep 1.5
check "REST produce over HTTPS" 200 "$(tcode -u alice:alice-secret -H "$ctype" -d "$rec" "$https/topics/orders")"
wait "$push"
if grep -q '"row":{"n":1}' "$work/push.ndjson"; then ok "HTTPS EMIT CHANGES streams the new record"; else fail "HTTPS push query: $(cat "$work/push.ndjson")"; fi
if curl -s --max-time 3 --tls-max 1.1 --cacert "$pki/ca.pem" "$https/health" >/dev/null 2>&1; then
  fail "HTTPS TLS 1.1 accepted"
else ok "HTTPS TLS 1.1 refused"; fi
curl -s --max-time 3 "http://127.0.0.1:$https_port/health" >/dev/null 2>&1
handshake_failures=$(curl -s -u alice:alice-secret "$http/metrics" | awk '/^sluice_http_tls_handshake_failures_total/ {print $2}')
if [ "${handshake_failures:-0}" -ge 2 ]; then ok "plain HTTP to the HTTPS port fails its handshake, counted; the server serves on"; else fail "handshake failures: $handshake_failures"; fi
node "$here/dashboard/login.mjs" "$https" /usr/bin/chromium alice alice-secret order_counts &&
  ok "dashboard login in Chromium over HTTPS (wss)" || fail "dashboard over HTTPS"

# --- a subscription ends when its ACL is removed (asked again while it runs) ---
curl -s -N --max-time 20 --cacert "$pki/ca.pem" --cert "$pki/device.pem" --key "$pki/device.key" \
  "$https/v1/topics/orders/events" >"$work/revoked.sse" &
tail_pid=$!
sleep 1.5
check "REST produce while device-7 may read" 200 \
  "$(tcode -u alice:alice-secret -H "$ctype" -d '{"records":[{"value":"before-revoke"}]}' "$https/topics/orders")"
"$sluice" acl remove --data-dir "$data" --allow --principal "User:CN=device-7,O=Acme" \
  --operation READ --topic orders >/dev/null
sleep 2.5  # the server reads the ACL file within a second; the channel asks again after one
started=$SECONDS
tcode -u alice:alice-secret -H "$ctype" -d '{"records":[{"value":"after-revoke"}]}' "$https/topics/orders" >/dev/null
wait "$tail_pid"
if grep -q '"value":"before-revoke"' "$work/revoked.sse" && grep -q 'access revoked' "$work/revoked.sse" &&
  ! grep -q 'after-revoke' "$work/revoked.sse" && [ $((SECONDS - started)) -lt 10 ]; then
  ok "SSE tail ends with 'access revoked' once its READ ACL is removed; nothing after is sent"
else
  fail "revoked tail ($((SECONDS - started)) s): $(tail -c 400 "$work/revoked.sse")"
fi

# --- SIGHUP: a new certificate for new connections, open ones stay ---
sasl "$ssl_port" SASL_SSL SCRAM-SHA-512 bob bob-secret -C -t orders -o end -c 1 -q >"$work/live.out" 2>/dev/null &
live=$!
sleep 2
make_server_cert 2002
kill -HUP "$pid"
sleep 0.5
serial=$(echo | openssl s_client -connect "127.0.0.1:$ssl_port" -CAfile "$pki/ca.pem" 2>/dev/null |
  openssl x509 -noout -serial 2>/dev/null)
check "SIGHUP: new connections get the new certificate" "serial=07D2" "$serial"
serial=$(echo | openssl s_client -connect "127.0.0.1:$https_port" -CAfile "$pki/ca.pem" 2>/dev/null |
  openssl x509 -noout -serial 2>/dev/null)
check "SIGHUP: HTTPS too" "serial=07D2" "$serial"
echo "k2:after-reload" | sasl "$ssl_port" SASL_SSL SCRAM-SHA-512 alice alice-secret -P -t orders -K: 2>/dev/null
wait "$live"
check "SIGHUP: a connection opened before the reload still receives" "after-reload" "$(cat "$work/live.out")"
server_stop

# --- SCRAM credentials over the wire (KIP-554), from a client written from the protocol spec ---
admin_port=$(free_port)
scram_port=$(free_port)
"$sluice" acl add --data-dir "$work/kip554" --allow --principal User:ANONYMOUS --operation ALTER \
  --operation DESCRIBE --cluster >/dev/null
"$sluice" acl add --data-dir "$work/kip554" --allow --principal User:dave --operation DESCRIBE \
  --cluster >/dev/null
"$sluice" server --data-dir "$work/kip554" --http-addr "127.0.0.1:$(free_port)" --log-level warn \
  --listeners "PLAINTEXT://127.0.0.1:$admin_port,SASL_PLAINTEXT://127.0.0.1:$scram_port" \
  >"$work/kip554.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do (echo >"/dev/tcp/127.0.0.1/$admin_port") 2>/dev/null && break; sleep 0.05; done
scram() { /usr/bin/python3 "$here/scram_admin.py" "127.0.0.1:$admin_port" "$@"; }
dave() { timeout 20 kcat -b "127.0.0.1:$scram_port" -X security.protocol=SASL_PLAINTEXT \
  -X sasl.mechanisms=SCRAM-SHA-256 -X sasl.username=dave -X sasl.password=dave-pw -L 2>&1 | head -3; }
check "DescribeUserScramCredentials of an unknown user: RESOURCE_NOT_FOUND" "dave:error 91" "$(scram describe dave)"
check "AlterUserScramCredentials upserts a client-salted SCRAM-SHA-256 credential" 0 \
  "$(scram upsert dave dave-pw SCRAM-SHA-256 8192)"
check "DescribeUserScramCredentials shows its mechanism and iterations" "SCRAM-SHA-256:8192" "$(scram describe dave)"
if [[ $(dave) == *"1 brokers"* ]]; then ok "kcat logs in with the credential set over the wire"; else fail "dave's login: $(dave)"; fi
check "too few iterations: UNACCEPTABLE_CREDENTIAL" 93 "$(scram upsert dave x SCRAM-SHA-256 10)"
check "a mechanism deleted and upserted in one request: DUPLICATE_RESOURCE (before NOT_FOUND)" 92 \
  "$(scram replace erin erin-pw SCRAM-SHA-512 8192)"
check "AlterUserScramCredentials deletes it" 0 "$(scram delete dave SCRAM-SHA-256)"
if [[ $(dave) == *"Authentication failed"* ]]; then ok "after the deletion the login fails"; else fail "deleted credential: $(dave)"; fi
server_stop

# --- no authentication on a network address is refused at start ---
out=$("$sluice" server --data-dir "$work/open" --kafka-addr "0.0.0.0:$(free_port)" \
  --http-addr "127.0.0.1:$(free_port)" 2>&1)
rc=$?
if [ $rc -eq 2 ] && [[ $out == *"--allow-anonymous-remote"* ]]; then
  ok "PLAINTEXT on 0.0.0.0 refused, naming --allow-anonymous-remote"
else
  fail "PLAINTEXT on 0.0.0.0: rc $rc: $out"
fi
server_summary
