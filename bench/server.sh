# Shared by the benchmark scripts: a sluice server on free loopback ports in a fresh folder,
# stopped (and the folder removed) when the script exits. Needs $build.
#
#   source "$root/bench/server.sh"
#   bench_server NAME [server flags...]   # sets work, kport, hport, pid; returns once ready
#   bench_cleanup                          # for scripts with an EXIT trap of their own

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_cleanup() {
  if [ -n "${pid:-}" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}

bench_server() {
  work=$(mktemp -d "/tmp/sluice-$1-XXXXXX")
  shift
  kport=$(free_port)
  hport=$(free_port)
  "$build/sluice" server --data-dir "$work/data" --kafka-addr "127.0.0.1:$kport" \
    --http-addr "127.0.0.1:$hport" --log-level warn "$@" &
  pid=$!
  trap bench_cleanup EXIT
  for _ in $(seq 1 200); do
    curl -sf "http://127.0.0.1:$hport/ready" >/dev/null && return 0
    sleep 0.05
  done
  echo "sluice did not start" >&2
  exit 1
}
