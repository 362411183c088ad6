#!/usr/bin/env bash
# Webhook delivery under a burst of room events (issue 13): a liveroom per store (SQLite, and
# MongoDB on FerretDB when its binary is there), webhookbench making 10,000 events through the API
# and receiving them as signed webhooks, against a direct-POST reference to the same receiver in
# the same run. Loopback only. Results: bench/results/webhooks-<time>.txt and webhooks-latest.txt.
#   LIVEROOM_BIN (default build/liveroom), BENCH_ROOMS (100), BENCH_EVENTS_PER_ROOM (100),
#   BENCH_STORES ("sqlite mongodb"), BENCH_MONGO_ROOMS (10: FerretDB's SQLite handler filters in
#   Go, scanning a collection per query, so its burst is a tenth), BENCH_SAVE=0 to print only.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bin=${LIVEROOM_BIN:-$root/build/liveroom}
rooms=${BENCH_ROOMS:-100}
per_room=${BENCH_EVENTS_PER_ROOM:-100}
stores=${BENCH_STORES:-sqlite mongodb}
[ -x "$bin" ] || { echo "no liveroom binary at $bin (scripts/build)" >&2; exit 1; }
mkdir -p .cache/bin
(cd bench/webhooks && go build -o "$root/.cache/bin/webhookbench" .)
tmp=$(mktemp -d /tmp/webhook-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
secret="whsec_$(head -c 32 /dev/urandom | base64)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_store() {  # $1: sqlite | mongodb; extra liveroom args follow
  local store=$1; shift
  local api_port hook_port
  api_port=$(free_port); hook_port=$(free_port)
  "$bin" serve --listen "127.0.0.1:$api_port" --data-dir "$tmp/data-$store" --stream local --webrtc-port 0 \
    --webrtc-ip 127.0.0.1 --creates-per-minute 0 --webhook-url "http://127.0.0.1:$hook_port/hook" \
    --webhook-secret "$secret" --log-level warn "$@" >"$tmp/liveroom-$store.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$api_port/healthz" >/dev/null && break; sleep 0.1; done
  echo "== $store"
  .cache/bin/webhookbench -liveroom "http://127.0.0.1:$api_port" -listen "127.0.0.1:$hook_port" -secret "$secret" \
    -rooms "$rooms" -events-per-room "$per_room" || echo "(webhookbench reported a problem)"
  echo "liveroom RSS at the end: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status), CPU s: $(awk '{printf "%.1f", ($14+$15)/100}' /proc/$pid/stat)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo
}

{
  echo "webhook benchmark, $(date -u +%Y%m%dT%H%M%SZ) (UTC)"
  echo "liveroom: $bin at $(git rev-parse --short HEAD)"
  echo "machine: $(nproc) cores, $(uname -r); loopback; liveroom and webhookbench unpinned"
  echo "burst: $rooms rooms x $per_room events, 8 API callers; dispatcher: 4 threads, claims of 8"
  echo
  for store in $stores; do
    if [ "$store" = mongodb ]; then
      ferret=${FERRETDB_BIN:-$root/.cache/bin/ferretdb}
      if [ ! -x "$ferret" ]; then echo "== mongodb: skipped (no FerretDB at $ferret)"; continue; fi
      FERRETDB_BIN=$ferret scripts/with-ferretdb bash -c "$(declare -f run_store free_port); bin='$bin' tmp='$tmp' \
        secret='$secret' rooms=${BENCH_MONGO_ROOMS:-10} per_room=$per_room; run_store mongodb --store mongodb \
        --mongodb-uri \"\${LIVEROOM_TEST_MONGODB_URI%/}/webhookbench\""
    else
      run_store sqlite
    fi
  done
} | tee "$tmp/report.txt"
if [ "${BENCH_SAVE:-1}" != 0 ]; then
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  cp "$tmp/report.txt" "bench/results/webhooks-$stamp.txt"
  cp "$tmp/report.txt" bench/results/webhooks-latest.txt
  echo "saved bench/results/webhooks-$stamp.txt"
fi
