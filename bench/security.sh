#!/usr/bin/env bash
# Security benchmark: the cost of TLS and of authorization, and SCRAM logins per second.
#   1. produce and consume over PLAINTEXT and over SSL (TLS 1.3) on the same server, three
#      rounds alternating (medians; consumes after the produced data is synced): the TLS rate
#      as a share of the plaintext one (target >= 60%);
#   2. produce over PLAINTEXT on a server without authorization, then over SASL_PLAINTEXT on a
#      server with 1,000 ACLs (the producer's allow among them): the share (target >= 95%);
#   3. scram_bench: server-side SCRAM-SHA-512 logins per second on one core (target >= 1,000).
# Clients and server share this machine's cores. Prints figures; not a test.
#
#   bench/security.sh [RECORDS]   (default 2000000 records of 100 bytes)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=ON >/dev/null
cmake --build build -j2 --target sluice log_bench scram_bench >/dev/null

records=${1:-2000000}
work=$(mktemp -d /tmp/sluice-secbench-XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { grep -o "[0-9.]* $1" | head -1 | cut -d' ' -f1; }
ratio() { /usr/bin/python3 -c "print(f'{$1 / $2 * 100:.0f}%')"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r); $(date -u +%F)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 1 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

start() {  # start DATA_DIR LISTENERS [flags]
  local dir=$1 listeners=$2
  shift 2
  ./build/sluice server --data-dir "$dir" --listeners "$listeners" --http-addr "127.0.0.1:$(free_port)" \
    --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" --log-level warn "$@" &
  pid=$!
  sleep 1
}
stop() { kill "$pid"; wait "$pid" || true; pid=""; }
bench() { ./build/log_bench "$@"; }

# 1. TLS: three rounds, plaintext and TLS alternating on the same server; the median of each.
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
p=$(free_port); s=$(free_port)
start "$work/tls" "PLAINTEXT://127.0.0.1:$p,SSL://127.0.0.1:$s"
tls=(-X security.protocol=SSL -X ssl.ca.location="$work/cert.pem")
pps=() sps=() pcs=() scs=()
for round in 1 2 3; do
  pps+=("$(bench produce --brokers "127.0.0.1:$p" --topic "plain$round" --records "$records" --size 100 | tee /dev/stderr | field MB/s)")
  sps+=("$(bench produce --brokers "127.0.0.1:$s" --topic "tls$round" --records "$records" --size 100 "${tls[@]}" | tee /dev/stderr | field MB/s)")
done
sync
for round in 1 2 3; do
  pcs+=("$(bench consume --brokers "127.0.0.1:$p" --topic "plain$round" --records "$records" | tee /dev/stderr | field MB/s)")
  scs+=("$(bench consume --brokers "127.0.0.1:$s" --topic "tls$round" --records "$records" "${tls[@]}" | tee /dev/stderr | field MB/s)")
done
stop
pp=$(median "${pps[@]}") sp=$(median "${sps[@]}") pc=$(median "${pcs[@]}") sc=$(median "${scs[@]}")
echo "TLS produce: median $sp MB/s (${sps[*]}) vs plaintext $pp MB/s (${pps[*]}) = $(ratio "$sp" "$pp") (target >= 60%)"
echo "TLS consume: median $sc MB/s (${scs[*]}) vs plaintext $pc MB/s (${pcs[*]}) = $(ratio "$sc" "$pc") (target >= 60%)"

# 2. Authorization with 1,000 ACLs: both servers up at once, runs alternating (three rounds, the
#    median of each side), so that both see the same machine.
./build/sluice user add bench --password bench-secret --data-dir "$work/acl" >/dev/null
/usr/bin/python3 - "$work/acl/_security/acls.json" <<'PY'
import json, sys
acls = [{"resource_type": "TOPIC", "name": f"topic-{i}", "pattern": "LITERAL" if i % 2 else "PREFIXED",
         "principal": f"User:user-{i}", "host": "*", "operation": "WRITE", "permission": "ALLOW"}
        for i in range(999)]
acls.append({"resource_type": "TOPIC", "name": "t", "pattern": "PREFIXED", "principal": "User:bench",
             "host": "*", "operation": "ALL", "permission": "ALLOW"})
json.dump({"version": 1, "acls": acls}, open(sys.argv[1], "w"))
PY
./build/sluice acl add --allow --principal User:bench --operation CREATE --cluster --data-dir "$work/acl" >/dev/null
po=$(free_port)
start "$work/open" "PLAINTEXT://127.0.0.1:$po"
open_pid=$pid
pa=$(free_port)
start "$work/acl" "SASL_PLAINTEXT://127.0.0.1:$pa" --super-users User:nobody
sasl=(-X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=SCRAM-SHA-512 -X sasl.username=bench -X sasl.password=bench-secret)
opens=() authzs=()
for round in 1 2 3; do
  opens+=("$(bench produce --brokers "127.0.0.1:$po" --topic "t$round" --records "$records" --size 100 | tee /dev/stderr | field MB/s)")
  authzs+=("$(bench produce --brokers "127.0.0.1:$pa" --topic "t$round" --records "$records" --size 100 "${sasl[@]}" | tee /dev/stderr | field MB/s)")
done
stop
pid=$open_pid
stop
open=$(median "${opens[@]}")
authz=$(median "${authzs[@]}")
echo "produce with 1,000 ACLs (SASL, authorized): median $authz MB/s (${authzs[*]}) vs $open MB/s without (${opens[*]}) = $(ratio "$authz" "$open") (target >= 95%)"

# 3. SCRAM logins
./build/scram_bench 20000
