#!/usr/bin/env bash
# Static membership: a member restarted within its session timeout must never make the other
# members revoke their partitions. Repeated 20 times, as the race showed about once in three.
set -euo pipefail
source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: static_membership_test.sh PATH_TO_SLUICE}"
server_start
if /usr/bin/python3 "$(dirname "$0")/static_membership_test.py" "$brokers" 20; then
  ok "static restarts leave the other member alone"
else
  fail "static restarts leave the other member alone"
fi
server_stop
server_summary
