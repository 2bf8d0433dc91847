#!/usr/bin/env bash
# PostgreSQL change data capture against a real PostgreSQL 15 (initdb with wal_level=logical,
# started by this test): the snapshot, inserts, updates and deletes in Debezium's envelope with
# tombstones, a new column, a SQL table over the topic (format = 'debezium') joined with a
# stream, sluice killed with -9 mid-stream and PostgreSQL restarted mid-stream (every change
# at least once, in order per key), and the slot moved along while the database is idle.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/server_lib.sh"
server_init "$1"

pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pgdir=$(mktemp -d /tmp/sluice-pg-XXXXXX)
chmod 755 "$pgdir"
chown postgres "$pgdir"
pgport=$(free_port)
as_pg() { runuser -u postgres -- "$@"; }
as_pg "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >/dev/null
pg_ctl() {
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
    -o "-c wal_level=logical -c port=$pgport -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pgdir -c fsync=off" "$@" >/dev/null
}
pg_ctl start
cleanup_pg() {
  pg_ctl stop -m immediate 2>/dev/null
  rm -rf "$pgdir"
  server_cleanup
}
trap cleanup_pg EXIT
psql_() { psql -h 127.0.0.1 -p "$pgport" -U postgres -d shop -qtAX "$@"; }
psql -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -qc "CREATE DATABASE shop"
psql_ -c "CREATE TABLE customers (id int PRIMARY KEY, name text, vip boolean, balance numeric, tags jsonb)"
psql_ -c "INSERT INTO customers VALUES (1, 'ann', true, 10.5, '{\"tier\": 1}'), (2, 'bob', false, NULL, NULL)"
psql_ -c "CREATE TABLE counters (id int PRIMARY KEY, n int)"

server_start
sql() { curl -s -XPOST "$http/v1/sql" --data-binary "$1"; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
made=$(sql "CREATE SOURCE CONNECTOR shop WITH ('connector' = 'postgres-cdc', 'database.port' = '$pgport', 'database.user' = 'postgres', 'database.dbname' = 'shop', 'topic.prefix' = 'pg', 'heartbeat.interval.ms' = '300')" | json 'd["results"][0]["message"]')
check "CREATE SOURCE CONNECTOR" "source connector shop created" "$made"
topic() {  # topic NAME: key, op and after of each record (tombstones as key -)
  kcat -C -b "$brokers" -t "$1" -e -q -f '%k\t%s\n' 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    k, v = line.rstrip("\n").split("\t", 1)
    if not v: print(k, "-"); continue
    d = json.loads(v)
    print(k, d["op"], json.dumps(d["after"], separators=(",", ":")))'
}
wait_lines() {  # wait_lines TOPIC N
  for _ in $(seq 1 200); do [ "$(topic "$1" | wc -l)" -ge "$2" ] && return; sleep 0.05; done
}
wait_lines pg.public.customers 2
check "the snapshot: each row as op r, keyed by the primary key" \
  '{"id":1} r {"id":1,"name":"ann","vip":true,"balance":10.5,"tags":{"tier":1}}|{"id":2} r {"id":2,"name":"bob","vip":false,"balance":null,"tags":null}' \
  "$(topic pg.public.customers | paste -sd '|')"
value=$(kcat -C -b "$brokers" -t pg.public.customers -e -q -c 1 2>/dev/null)
check "Debezium's source block" "postgresql pg shop public customers true" \
  "$(echo "$value" | json '" ".join(str(d["source"][k]) for k in ("connector","name","db","schema","table","snapshot")).replace("True","true")')"

# --- changes ---
psql_ -c "INSERT INTO customers VALUES (3, 'cy', false, 1, NULL)"
psql_ -c "UPDATE customers SET name = 'anne' WHERE id = 1"
psql_ -c "DELETE FROM customers WHERE id = 2"
psql_ -c "ALTER TABLE customers ADD COLUMN city text"
psql_ -c "UPDATE customers SET city = 'paris' WHERE id = 3"
wait_lines pg.public.customers 8
check "insert, update, delete (then a tombstone), and a new column" \
  '{"id":3} c {"id":3,"name":"cy","vip":false,"balance":1,"tags":null}|{"id":1} u {"id":1,"name":"anne","vip":true,"balance":10.5,"tags":{"tier":1}}|{"id":2} d null|{"id":2} -|{"id":3} u {"id":3,"name":"cy","vip":false,"balance":1,"tags":null,"city":"paris"}' \
  "$(topic pg.public.customers | tail -n +3 | paste -sd '|')"
check "a delete's before holds the key" '{"id": 2}' \
  "$(kcat -C -b "$brokers" -t pg.public.customers -e -q 2>/dev/null | grep '"op":"d"' | json 'json.dumps(d["before"])')"

# --- TOAST: a large value that an update does not change ---
psql_ -c "CREATE TABLE docs (id int PRIMARY KEY, body text, n int)"
psql_ -c "ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL"  # out of line, uncompressed
psql_ -c "INSERT INTO docs VALUES (1, repeat('x', 10000), 0)"
psql_ -c "UPDATE docs SET n = 1 WHERE id = 1"
psql_ -c "ALTER TABLE docs REPLICA IDENTITY FULL"
psql_ -c "UPDATE docs SET n = 2 WHERE id = 1"
docs() {
  kcat -C -b "$brokers" -t pg.public.docs -e -q 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    a = json.loads(line)["after"]
    b = a["body"]
    print(a["n"], b if len(b) < 100 else "%d chars" % len(b))' | paste -sd '|'
}
for _ in $(seq 1 100); do [ "$(docs | tr '|' '\n' | wc -l)" = 3 ] && break; sleep 0.05; done
check "an unchanged TOAST value: Debezium's placeholder, or the old row's with REPLICA IDENTITY FULL" \
  "0 10000 chars|1 __debezium_unavailable_value|2 10000 chars" "$(docs)"

# --- SQL reads the topic as a changelog table, joined with a stream ---
sql "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR, vip BOOLEAN, balance DOUBLE, city VARCHAR) WITH (topic = 'pg.public.customers', format = 'debezium')" >/dev/null
sql "CREATE STREAM orders (order_id INT, customer INT, amount DOUBLE) WITH (topic = 'orders')" >/dev/null
sql "CREATE MATERIALIZED VIEW customer_rows AS SELECT id, name, city FROM customers" >/dev/null
sql "CREATE MATERIALIZED VIEW enriched AS SELECT o.order_id, c.name, o.amount FROM orders o JOIN customers c ON o.customer = c.id" >/dev/null
view_rows() { curl -s "$http/v1/views/$1" | json '"|".join(",".join(str(v) for v in r.values()) for r in d["rows"])'; }
for _ in $(seq 1 100); do [ "$(view_rows customer_rows)" = "1,anne,None|3,cy,paris" ] && break; sleep 0.05; done
check "a table over the CDC topic follows inserts, updates and deletes" "1,anne,None|3,cy,paris" \
  "$(view_rows customer_rows)"
printf '%s\n' '{"order_id":10,"customer":1,"amount":5}' '{"order_id":11,"customer":3,"amount":7.5}' |
  kcat -P -b "$brokers" -t orders
for _ in $(seq 1 100); do [ "$(view_rows enriched)" = "10,anne,5.0|11,cy,7.5" ] && break; sleep 0.05; done
check "a stream joined with the CDC table" "10,anne,5.0|11,cy,7.5" "$(view_rows enriched)"

# --- the view back into PostgreSQL (another database): upserts and deletes ---
psql -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -qc "CREATE DATABASE mirror"
mirror() { psql -h 127.0.0.1 -p "$pgport" -U postgres -d mirror -qtAX -F, "$@"; }
made=$(sql "CREATE SINK CONNECTOR mirror FROM customer_rows WITH ('connector' = 'postgres-sink', 'database.port' = '$pgport', 'database.user' = 'postgres', 'database.dbname' = 'mirror', 'table.name' = 'public.customers', 'pk.fields' = 'id', 'auto.create' = 'true')" | json 'd["results"][0]["message"]')
check "CREATE SINK CONNECTOR into PostgreSQL" "sink connector mirror created" "$made"
mirrored() { mirror -c "SELECT id, name, coalesce(city, '-') FROM customers ORDER BY id" 2>/dev/null | paste -sd '|'; }
for _ in $(seq 1 100); do [ "$(mirrored)" = "1,anne,-|3,cy,paris" ] && break; sleep 0.05; done
check "the view's rows in a table it created" "1,anne,-|3,cy,paris" "$(mirrored)"
psql_ -c "UPDATE customers SET city = 'oslo' WHERE id = 1"
psql_ -c "DELETE FROM customers WHERE id = 3"
psql_ -c "INSERT INTO customers (id, name) VALUES (5, 'eve')"
for _ in $(seq 1 100); do [ "$(mirrored)" = "1,anne,oslo|5,eve,-" ] && break; sleep 0.05; done
check "PostgreSQL -> CDC -> table -> view -> PostgreSQL: updates, deletes, inserts" \
  "1,anne,oslo|5,eve,-" "$(mirrored)"
check "the created table's primary key" "id" \
  "$(mirror -c "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indisprimary AND i.indrelid = 'customers'::regclass")"

# --- kill -9 of sluice, then a restart of PostgreSQL, while changes flow ---
# Each counter row is inserted, then updated 1..5: per key the values must arrive in order.
changes() {  # changes FROM TO
  for i in $(seq "$1" "$2"); do
    echo "INSERT INTO counters VALUES ($i, 0);"
    for n in 1 2 3 4 5; do echo "UPDATE counters SET n = $n WHERE id = $i;"; done
  done | psql_ >/dev/null
}
changes 1 300 &
writer=$!
sleep 0.4
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=""
wait "$writer"
server_start
changes 301 500 &
writer=$!
sleep 0.3
pg_ctl restart -m fast
wait "$writer"
changes 501 600
# The restart ends the writer of rows 301-500 wherever it is (FATAL: terminating connection):
# what PostgreSQL committed is the truth the topic must match.
psql_ -c "SELECT id, n FROM counters" > "$work/counters"
rows=$(wc -l < "$work/counters" | tr -d ' ')
check "PostgreSQL kept rows 1-300 and 501-600 at least" 1 "$([ "$rows" -ge 400 ] && echo 1 || echo 0)"
check_counters() {  # rows seen, whether each saw every value to its last, whether each ends there
  topic pg.public.counters | /usr/bin/python3 -c '
import json, sys
final = dict(map(int, line.split("|")) for line in open(sys.argv[1]) if line.strip())
seen = {}
for line in sys.stdin:
    k, op, after = line.rstrip("\n").split(" ", 2)
    a = json.loads(after)
    seen.setdefault(a["id"], []).append(a["n"])
complete = seen.keys() == final.keys() and all(
    sorted(set(v)) == list(range(final[i] + 1)) for i, v in seen.items())
last = all(v[-1] == final.get(i) for i, v in seen.items())
print(len(seen), complete, last)' "$work/counters"
}
# Up to 4 minutes: after PostgreSQL's restart the connector retries with a growing backoff, and
# each look reads the whole topic (slow under the sanitizers with other tests beside it).
deadline=$((SECONDS + 240))
while [ "$SECONDS" -lt "$deadline" ] && [ "$(check_counters)" != "$rows True True" ]; do sleep 0.5; done
check "after kill -9 and a PostgreSQL restart: every committed change of every row ($rows), each key ending at its last" \
  "$rows True True" "$(check_counters)"
per_key_order=$(topic pg.public.counters | /usr/bin/python3 -c '
import json, sys
runs = {}
for line in sys.stdin:
    k, op, after = line.rstrip("\n").split(" ", 2)
    a = json.loads(after)
    runs.setdefault(a["id"], []).append(a["n"])
# In order per key: each value follows the one before it, or a repeat starts over from an
# earlier value (what a crash delivers again), never skipping one.
bad = [i for i, v in runs.items() if any(b > a + 1 for a, b in zip(v, v[1:]))]
print(len(bad))')
check "in order per key (repeats after a crash, no gaps)" 0 "$per_key_order"
state=$(curl -s "$http/connectors/shop/status" | json 'd["tasks"][0]["state"]')
check "the connector runs again after PostgreSQL came back" RUNNING "$state"
check "its restarts are counted" 1 \
  "$(curl -s "$http/metrics" | sed -n 's/^sluice_connector_restarts_total{connector="shop"} //p' | awk '{print ($1 >= 1)}')"

# --- an idle database does not hold WAL back ---
before=$(psql_ -c "SELECT confirmed_flush_lsn - '0/0' FROM pg_replication_slots WHERE slot_name = 'sluice'")
psql -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -qc "CREATE TABLE elsewhere AS SELECT g FROM generate_series(1, 50000) g"
moved=0
for _ in $(seq 1 100); do
  now=$(psql_ -c "SELECT confirmed_flush_lsn - '0/0' FROM pg_replication_slots WHERE slot_name = 'sluice'")
  [ "$now" -gt "$before" ] 2>/dev/null && moved=1 && break
  sleep 0.1
done
check "the slot moves on while its database is idle (WAL written elsewhere)" 1 "$moved"

server_stop
server_summary
