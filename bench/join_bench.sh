#!/usr/bin/env bash
# Join benchmark (issue 2, "Speed"): loads GET /api/livestream/join for one room with wrk
# and, in the same run, an nginx serving the same response bytes as a static file; prints
# both throughputs and p99 latencies and the ratio, with the SQLite and the MongoDB
# (FerretDB) store. Then seeds 100,000 active rooms into a fresh SQLite store and prints
# the server's RSS. Targets: join >= 0.5 x nginx, p99 < 10 ms, RSS <= 150 MB.
#
#   bench/join_bench.sh
#
# Installs wrk + nginx-light (scripts/setup --bench), builds a Release binary in
# build-release/, runs everything on loopback, stops every process it started, and saves
# the output to bench/results/join-<UTC date>.txt and bench/results/join-latest.txt.
#
# Knobs (env): BENCH_SECONDS (10) measured wrk run, BENCH_WARMUP_SECONDS (2),
# BENCH_CONNECTIONS (64), BENCH_THREADS (2) wrk threads, BENCH_STORES ("sqlite mongodb"),
# BENCH_ROOMS (100000) rooms seeded for the RSS figure, BENCH_FILL_SECONDS (20) how long
# to spend joining every seeded room, BENCH_SKIP_BUILD=1 use build-release/ as it is,
# BENCH_PERF=1 also profile liveroom (perf) during each measured join run.
set -euo pipefail

self=$(readlink -f "$0")
root=$(cd "$(dirname "$self")/.." && pwd)
cd "$root"

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_WARMUP_SECONDS=${BENCH_WARMUP_SECONDS:-2}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-64}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_STORES=${BENCH_STORES:-sqlite mongodb}
BENCH_ROOMS=${BENCH_ROOMS:-100000}
BENCH_FILL_SECONDS=${BENCH_FILL_SECONDS:-20}
BENCH_PERF=${BENCH_PERF:-0}
export BENCH_SECONDS BENCH_WARMUP_SECONDS BENCH_CONNECTIONS BENCH_THREADS BENCH_STORES \
  BENCH_ROOMS BENCH_FILL_SECONDS BENCH_PERF

# Targets (issue 2).
TARGET_RATIO=0.5
TARGET_P99_MS=10
TARGET_RSS_MB=150

bin=$root/build-release/liveroom
unset LIVEROOM_API_KEY  # create must not need a key here

# ---------------------------------------------------------------------------------------
# helpers

say() { printf '%s\n' "$*"; }
die() {
  printf 'join_bench: %s\n' "$*" >&2
  exit 1
}

# PIDs this shell started and still has to stop.
pids=()
forget_pid() {
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}
stop_pid() {
  local pid=$1
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}
stop_all() {
  local p
  for p in "${pids[@]}"; do stop_pid "$p"; done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL PID LOG: up to 20 s for URL to answer 200 while PID lives.
wait_http() {
  local url=$1 pid=$2 log=$3
  for _ in $(seq 200); do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "process $pid exited during startup; log tail:" >&2
      tail -n 20 "$log" >&2 || true
      return 1
    fi
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null)" = 200 ] && return 0
    sleep 0.1
  done
  say "$url did not answer within 20 s; log tail:" >&2
  tail -n 20 "$log" >&2 || true
  return 1
}

compilers() { pgrep -c cc1plus 2>/dev/null || true; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb * 1024 / 1e6 }'; }

# wrk duration "1.23ms" / "850.00us" / "1.02s" -> milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v; sub(/[a-z]+$/, "", n); u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f < 0 || n == "") { print "nan"; exit }
    printf "%.3f", n * f
  }'
}

# run_wrk SECONDS URL [extra wrk args]: sets w_rps w_p99_ms w_errors w_requests w_out.
run_wrk() {
  local secs=$1 url=$2
  shift 2
  w_out=$(timeout $((secs + 30)) wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"${secs}s" --latency "$@" "$url" 2>&1) || {
    say "$w_out" >&2
    die "wrk failed against $url"
  }
  w_rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$w_out")
  w_p99_ms=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$w_out")")
  w_requests=$(awk '/requests in/ {print $1}' <<<"$w_out")
  local non2xx sockerr
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$w_out")
  sockerr=$(awk -F'[ ,]+' '/Socket errors:/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s}' <<<"$w_out")
  w_errors=$((${non2xx:-0} + ${sockerr:-0}))
  [ -n "$w_rps" ] || die "could not read Requests/sec from wrk output"
}

indent() { sed 's/^/    /'; }

# ---------------------------------------------------------------------------------------
# servers

# start_liveroom STORE DATA_DIR [extra serve args]: sets lr_pid lr_port lr_log. (Rooms go to the
# Cloudflare stand-in, so no media server runs; --webrtc-ip keeps one on loopback if it ever does.)
start_liveroom() {
  local store=$1 data=$2
  shift 2
  lr_port=$(free_port)
  lr_log=$BENCH_TMP/liveroom-$store-$lr_port.log
  CLOUDFLARE_ACCOUNT_ID=bench CLOUDFLARE_API_TOKEN=bench CLOUDFLARE_API_BASE="http://127.0.0.1:$CF_PORT" \
    "$bin" serve --listen "127.0.0.1:$lr_port" --data-dir "$data" --store "$store" --log-level warn \
    --webrtc-ip 127.0.0.1 "$@" >"$lr_log" 2>&1 &
  lr_pid=$!
  pids+=("$lr_pid")
  wait_http "http://127.0.0.1:$lr_port/healthz" "$lr_pid" "$lr_log" || die "liveroom ($store) did not start"
}

# create_room DIR: POST create on the running liveroom; sets room_id.
create_room() {
  local dir=$1 code
  code=$(curl -sS --max-time 10 -o "$dir/create.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data '{"title":"bench","host":"bench"}' "http://127.0.0.1:$lr_port/api/livestream/create")
  [ "$code" = 201 ] || die "create answered $code: $(head -c 400 "$dir/create.json")"
  room_id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["room_id"])' "$dir/create.json")
}

# start_nginx DIR BODY_FILE: serves BODY_FILE at /api/livestream/join; sets ng_pid ng_port.
start_nginx() {
  local dir=$1 body=$2
  mkdir -p "$dir/www" "$dir/temp"
  cp "$body" "$dir/www/join.json"
  chmod -R a+rX "$dir"
  ng_port=$(free_port)
  # Same path as liveroom's, same body bytes, and liveroom's two extra headers so the
  # header bytes are comparable too. Otherwise a stock static-file setup.
  cat >"$dir/nginx.conf" <<EOF
user $(id -un);
worker_processes auto;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  types { }
  default_type application/json;
  sendfile on;
  tcp_nodelay on;
  etag off;
  server_tokens off;
  keepalive_requests 10000000;
  keepalive_timeout 75s;
  client_body_temp_path $dir/temp/body;
  proxy_temp_path $dir/temp/proxy;
  fastcgi_temp_path $dir/temp/fastcgi;
  uwsgi_temp_path $dir/temp/uwsgi;
  scgi_temp_path $dir/temp/scgi;
  server {
    listen 127.0.0.1:$ng_port;
    root $dir/www;
    location = /api/livestream/join {
      add_header Cache-Control no-store;
      add_header Access-Control-Allow-Origin *;
      try_files /join.json =500;
    }
  }
}
EOF
  nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" >"$dir/nginx.out" 2>&1 &
  ng_pid=$!
  pids+=("$ng_pid")
  wait_http "http://127.0.0.1:$ng_port/api/livestream/join" "$ng_pid" "$dir/error.log" || die "nginx did not start"
}

# ---------------------------------------------------------------------------------------
# one store: nginx, then liveroom, each with a warm-up; writes $BENCH_TMP/result-<store>

store_phase() {
  local store=$1
  shift
  local dir=$BENCH_TMP/$store
  mkdir -p "$dir"
  pids=()  # a subshell or a new process: stop only what this phase starts
  trap stop_all EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  say ""
  say "== join, store $store =="
  local extra=()
  if [ "$store" = mongodb ]; then
    local uri=${LIVEROOM_TEST_MONGODB_URI:?}
    uri="${uri%/}/bench"
    extra=(--mongodb-uri "$uri")
    say "MongoDB: FerretDB $("$root/.cache/bin/ferretdb" --version 2>/dev/null | sed -n 's/^version: *//p' | head -n 1) (SQLite backend) at $uri"
  fi
  start_liveroom "$store" "$dir/data" "${extra[@]}"
  create_room "$dir"
  local url="http://127.0.0.1:$lr_port/api/livestream/join?room_id=$room_id"
  local code
  code=$(curl -sS --max-time 10 -D "$dir/join.headers" -o "$dir/join.body" -w '%{http_code}' "$url")
  [ "$code" = 200 ] || die "join answered $code: $(head -c 400 "$dir/join.body")"
  say "room $room_id; join response: $(wc -c <"$dir/join.body") body bytes, headers:"
  tr -d '\r' <"$dir/join.headers" | sed '/^$/d' | indent

  start_nginx "$dir/nginx" "$dir/join.body"
  local ng_url="http://127.0.0.1:$ng_port/api/livestream/join?room_id=$room_id"
  cmp -s <(curl -s --max-time 5 "$ng_url") "$dir/join.body" || die "nginx does not serve the same bytes"

  say ""
  say "-- nginx $(nginx -v 2>&1 | sed 's#.*/##'), static file (warm-up ${BENCH_WARMUP_SECONDS} s, then ${BENCH_SECONDS} s)"
  run_wrk "$BENCH_WARMUP_SECONDS" "$ng_url"
  local ng_cc ng_load
  ng_cc=$(compilers)
  ng_load=$(loadavg)
  run_wrk "$BENCH_SECONDS" "$ng_url"
  say "   (cc1plus running at start: $ng_cc, load average $ng_load)"
  indent <<<"$w_out"
  local ng_rps=$w_rps ng_p99=$w_p99_ms ng_err=$w_errors
  stop_pid "$ng_pid"

  say ""
  say "-- liveroom $("$bin" version | sed 's/^liveroom //') (Release), store $store (warm-up ${BENCH_WARMUP_SECONDS} s, then ${BENCH_SECONDS} s)"
  run_wrk "$BENCH_WARMUP_SECONDS" "$url"
  local lr_cc lr_load perf_pid=""
  lr_cc=$(compilers)
  lr_load=$(loadavg)
  if [ "$BENCH_PERF" = 1 ] && command -v perf >/dev/null; then
    perf record -q -F 499 -g -p "$lr_pid" -o "$dir/perf.data" -- sleep "$BENCH_SECONDS" >/dev/null 2>&1 &
    perf_pid=$!
    pids+=("$perf_pid")
  fi
  local rss_before
  rss_before=$(rss_kb "$lr_pid")
  run_wrk "$BENCH_SECONDS" "$url"
  say "   (cc1plus running at start: $lr_cc, load average $lr_load)"
  indent <<<"$w_out"
  local lr_rss
  lr_rss=$(rss_kb "$lr_pid")
  say "   liveroom RSS: $(mb "$rss_before") MB before the run, $(mb "$lr_rss") MB after"
  if [ -n "$perf_pid" ]; then
    wait "$perf_pid" 2>/dev/null || true
    forget_pid "$perf_pid"
    say ""
    say "-- perf: where liveroom's CPU time went during the measured run (self time, top symbols)"
    perf report -i "$dir/perf.data" --stdio --no-children --sort dso,symbol --percent-limit 1 -g none 2>/dev/null |
      grep -E '^ +[0-9]' | sed -E 's/ +- +- *$//; s/ +$//' | cut -c1-160 | head -n 30 | indent || true
    say "   by DSO:"
    perf report -i "$dir/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
      grep -E '^ +[0-9]' | sed -E 's/ +$//' | head -n 6 | indent || true
  fi
  if grep -qiE ' (error|critical) ' "$lr_log"; then
    say "   liveroom logged errors:"
    grep -iE ' (error|critical) ' "$lr_log" | head -n 5 | indent
  fi
  stop_pid "$lr_pid"

  cat >"$BENCH_TMP/result-$store" <<EOF
ng_rps=$ng_rps
ng_p99=$ng_p99
ng_err=$ng_err
ng_cc=$ng_cc
lr_rps=$w_rps
lr_p99=$w_p99_ms
lr_err=$w_errors
lr_cc=$lr_cc
EOF
}

# Runs store_phase mongodb with a FerretDB: scripts/with-ferretdb when present, else our own.
mongodb_phase() {
  if [ -x "$root/scripts/with-ferretdb" ]; then
    "$root/scripts/with-ferretdb" "$self" --store-phase mongodb
    return
  fi
  local ferret=$root/.cache/bin/ferretdb
  [ -x "$ferret" ] || die "no FerretDB at $ferret (run scripts/setup --test)"
  local fdir=$BENCH_TMP/ferretdb port
  mkdir -p "$fdir/sqlite" "$fdir/state"
  port=$(free_port)
  "$ferret" --handler=sqlite --sqlite-url="file:$fdir/sqlite/" --listen-addr="127.0.0.1:$port" \
    --state-dir="$fdir/state" --debug-addr=- --telemetry=disable --log-level=warn >"$fdir/log" 2>&1 &
  local fpid=$!
  pids+=("$fpid")
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$fpid" 2>/dev/null || die "FerretDB exited: $(tail -n 5 "$fdir/log")"
    sleep 0.1
  done
  LIVEROOM_TEST_MONGODB_URI="mongodb://127.0.0.1:$port/" "$self" --store-phase mongodb
  stop_pid "$fpid"
}

# ---------------------------------------------------------------------------------------
# RSS with BENCH_ROOMS active rooms in a fresh SQLite store

rss_phase() {
  local dir=$BENCH_TMP/rss
  mkdir -p "$dir"
  say ""
  say "== RSS, SQLite store with $BENCH_ROOMS active rooms =="

  # The server creates the schema and one real room, which the seed copies.
  start_liveroom sqlite "$dir/data"
  create_room "$dir"
  local template=$room_id
  stop_pid "$lr_pid"

  local db=$dir/data/liveroom.db
  declare -A expr=(
    [room_id]="ids.rid"
    [title]="'Bench room ' || ids.n"
    [host]="'host_' || (ids.n % 5000)"
    [status]="'active'"
    [live]="0"
    [session_id]="ids.uid"
    [whip_url]="replace(t.whip_url, t.session_id, ids.uid)"
    [whep_url]="replace(t.whep_url, t.session_id, ids.uid)"
    [hls_url]="replace(t.hls_url, t.session_id, ids.uid)"
    [dash_url]="replace(t.dash_url, t.session_id, ids.uid)"
    [rtmps_stream_key]="replace(t.rtmps_stream_key, t.session_id, ids.uid)"
    [srt_stream_id]="replace(t.srt_stream_id, t.session_id, ids.uid)"
    [srt_passphrase]="replace(t.srt_passphrase, t.session_id, ids.uid)"
    [host_token_hash]="ids.tok"
    [created_at]="t.created_at - ids.n * 1000"
    [updated_at]="t.created_at - ids.n * 1000"
    [ended_at]="NULL"
  )
  local cols=() sels=() c
  while read -r c; do
    cols+=("$c")
    sels+=("${expr[$c]:-t.$c}")
  done < <(sqlite3 "$db" "SELECT name FROM pragma_table_info('rooms')")
  [ ${#cols[@]} -gt 0 ] || die "no rooms table in $db"
  local col_list sel_list
  col_list=$(IFS=,; echo "${cols[*]}")
  sel_list=$(IFS=,; echo "${sels[*]}")
  local t0 t1
  t0=$(date +%s.%N)
  # room_id: live_ + 16 base62 characters (random hex, upper then lower case).
  sqlite3 "$db" <<EOF
BEGIN;
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $((BENCH_ROOMS - 1))),
ids(n, rid, uid, tok) AS MATERIALIZED (
  SELECT n, 'live_' || hex(randomblob(4)) || lower(hex(randomblob(4))),
         lower(hex(randomblob(16))), lower(hex(randomblob(32)))
  FROM seq)
INSERT INTO rooms ($col_list)
SELECT $sel_list FROM ids, (SELECT * FROM rooms WHERE room_id = '$template') AS t;
COMMIT;
EOF
  t1=$(date +%s.%N)
  local active
  active=$(sqlite3 "$db" "SELECT count(*) FROM rooms WHERE status = 'active'")
  [ "$active" = "$BENCH_ROOMS" ] || die "seeded $active active rooms, wanted $BENCH_ROOMS"
  sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
  say "seeded $active active rooms in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s; database $(du -k "$db" | cut -f1) KiB"

  start_liveroom sqlite "$dir/data"
  local rss_idle
  rss_idle=$(rss_kb "$lr_pid")
  printf '%-44s %s MB\n' "RSS after start (idle):" "$(mb "$rss_idle")"

  sqlite3 "$db" "SELECT room_id FROM rooms ORDER BY random() LIMIT 1000" >"$dir/ids-1000"
  python3 - "$lr_port" "$dir/ids-1000" <<'EOF' || die "join/list requests failed"
import http.client, json, sys
port, ids = int(sys.argv[1]), open(sys.argv[2]).read().split()
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
def get(path):
    conn.request("GET", path)
    res = conn.getresponse()
    body = res.read()
    if res.status != 200:
        sys.exit(f"GET {path} -> {res.status} {body[:200]!r}")
    return body
for room_id in ids:
    get("/api/livestream/join?room_id=" + room_id)
for _ in range(3):
    get("/api/livestream/rooms")
cursor, pages = None, 0
while pages < 10:
    page = json.loads(get("/api/livestream/rooms?status=active&limit=100" + (f"&cursor={cursor}" if cursor else "")))
    pages += 1
    cursor = page.get("next_cursor")
    if not cursor:
        break
print(f"joined {len(ids)} distinct rooms, listed rooms 3 times + {pages} pages of 100 active rooms")
EOF
  local rss_1000
  rss_1000=$(rss_kb "$lr_pid")
  printf '%-44s %s MB\n' "RSS after 1,000 joins + room lists:" "$(mb "$rss_1000")"

  # Every room once (the join cache holds up to 100,000 rooms): the worst case.
  sqlite3 "$db" "SELECT room_id FROM rooms" >"$dir/ids-all"
  cat >"$dir/fill.lua" <<EOF
local ids = {}
for line in io.lines("$dir/ids-all") do ids[#ids + 1] = line end
local i = 0
request = function()
  i = i + 1
  if i > #ids then i = 1 end
  return wrk.format("GET", "/api/livestream/join?room_id=" .. ids[i])
end
EOF
  local saved_threads=$BENCH_THREADS
  BENCH_THREADS=1  # one Lua state walks the list in order
  run_wrk "$BENCH_FILL_SECONDS" "http://127.0.0.1:$lr_port/" -s "$dir/fill.lua"
  BENCH_THREADS=$saved_threads
  local covered=$((w_requests < BENCH_ROOMS ? w_requests : BENCH_ROOMS))
  local rss_all hwm
  rss_all=$(rss_kb "$lr_pid")
  hwm=$(hwm_kb "$lr_pid")
  printf '%-44s %s MB (peak %s MB)\n' "RSS after joining $covered distinct rooms:" "$(mb "$rss_all")" "$(mb "$hwm")"
  say "   (that fill: wrk -t1 -c$BENCH_CONNECTIONS ${BENCH_FILL_SECONDS} s over all room ids, mostly cache misses:" \
    "$w_rps req/s, p99 $w_p99_ms ms, $w_errors errors)"
  stop_pid "$lr_pid"

  cat >"$BENCH_TMP/result-rss" <<EOF
rss_idle=$rss_idle
rss_1000=$rss_1000
rss_all=$rss_all
hwm=$hwm
covered=$covered
EOF
}

# ---------------------------------------------------------------------------------------

verdict() { if [ "$1" = 1 ]; then echo PASS; else echo MISS; fi; }

summary() {
  say ""
  say "== summary (wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d${BENCH_SECONDS}s, one room; targets: ratio >= $TARGET_RATIO, p99 < $TARGET_P99_MS ms, RSS <= $TARGET_RSS_MB MB) =="
  printf '%-8s | %12s %9s | %14s %9s | %6s | %-15s | %-11s | %s\n' \
    store "nginx req/s" "p99 ms" "liveroom req/s" "p99 ms" ratio "ratio >= $TARGET_RATIO" "p99 < $TARGET_P99_MS" "cc1plus (nginx/liveroom)"
  local store
  for store in $BENCH_STORES; do
    local f=$BENCH_TMP/result-$store
    [ -f "$f" ] || {
      printf '%-8s | (no result)\n' "$store"
      continue
    }
    local ng_rps ng_p99 ng_err ng_cc lr_rps lr_p99 lr_err lr_cc
    # shellcheck disable=SC1090
    . "$f"
    local ratio ok_ratio ok_p99
    ratio=$(awk -v a="$lr_rps" -v b="$ng_rps" 'BEGIN { printf "%.2f", a / b }')
    ok_ratio=$(awk -v r="$ratio" -v t="$TARGET_RATIO" -v e="$lr_err" 'BEGIN { print (r >= t && e == 0) ? 1 : 0 }')
    ok_p99=$(awk -v p="$lr_p99" -v t="$TARGET_P99_MS" -v e="$lr_err" 'BEGIN { print (p < t && e == 0) ? 1 : 0 }')
    printf '%-8s | %12s %9s | %14s %9s | %6s | %-15s | %-11s | %s/%s\n' \
      "$store" "$ng_rps" "$ng_p99" "$lr_rps" "$lr_p99" "$ratio" "$(verdict "$ok_ratio")" "$(verdict "$ok_p99")" "$ng_cc" "$lr_cc"
    [ "$ng_err" = 0 ] || say "   nginx had $ng_err errors (non-2xx or socket) in its run"
    [ "$lr_err" = 0 ] || say "   liveroom had $lr_err errors (non-2xx or socket) in its run: counted as MISS"
  done
  if [ -f "$BENCH_TMP/result-rss" ]; then
    local rss_idle rss_1000 rss_all hwm covered
    # shellcheck disable=SC1090
    . "$BENCH_TMP/result-rss"
    local ok_1000 ok_all
    ok_1000=$(awk -v kb="$rss_1000" -v t="$TARGET_RSS_MB" 'BEGIN { print (kb * 1024 / 1e6 <= t) ? 1 : 0 }')
    ok_all=$(awk -v kb="$hwm" -v t="$TARGET_RSS_MB" 'BEGIN { print (kb * 1024 / 1e6 <= t) ? 1 : 0 }')
    say ""
    say "RSS with $BENCH_ROOMS active rooms (SQLite), MB = 10^6 bytes, target <= $TARGET_RSS_MB MB:"
    say "   idle $(mb "$rss_idle") MB; after 1,000 joins + lists $(mb "$rss_1000") MB: $(verdict "$ok_1000")"
    say "   peak after joining $covered distinct rooms $(mb "$hwm") MB: $(verdict "$ok_all")"
  fi
}

header() {
  say "liveroom join benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  say "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown) (working tree may differ)," \
    "binary build-release/liveroom ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$root/build-release/CMakeCache.txt"))," \
    "built $(date -u -r "$bin" +%Y-%m-%dT%H:%M:%SZ)"
  say "machine: $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)), $(uname -sr)," \
    "load average $(loadavg), cc1plus processes running: $(compilers)"
  say "tools: $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2), $(nginx -v 2>&1 | sed 's/^nginx version: //'), sqlite3 $(sqlite3 --version | cut -d' ' -f1)"
  say "wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d${BENCH_SECONDS}s --latency (after a ${BENCH_WARMUP_SECONDS} s warm-up); nginx and liveroom run one after the other, never at once"
  say "liveroom: $bin serve --log-level warn, default threads (HTTP: one per CPU), Cloudflare stand-in bench/fake_cloudflare.py"
}

run_bench() {
  trap stop_all EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  header

  python3 "$root/bench/fake_cloudflare.py" --port-file "$BENCH_TMP/cf.port" >/dev/null 2>"$BENCH_TMP/cf.log" &
  local cf_pid=$!
  pids+=("$cf_pid")
  for _ in $(seq 100); do
    [ -s "$BENCH_TMP/cf.port" ] && break
    kill -0 "$cf_pid" 2>/dev/null || die "fake Cloudflare exited: $(cat "$BENCH_TMP/cf.log")"
    sleep 0.1
  done
  CF_PORT=$(cat "$BENCH_TMP/cf.port")
  export CF_PORT

  local store
  for store in $BENCH_STORES; do
    case "$store" in
      sqlite) (store_phase sqlite) ;;
      mongodb) mongodb_phase ;;
      *) die "unknown store $store in BENCH_STORES" ;;
    esac
  done
  rss_phase
  summary
  say ""
  say "cc1plus processes running at the end: $(compilers); load average $(loadavg)"
}

# ---------------------------------------------------------------------------------------
# entry points

if [ "${1:-}" = "--store-phase" ]; then
  # Internal: one store's measurement, run (for MongoDB) inside scripts/with-ferretdb.
  [ -n "${BENCH_TMP:-}" ] && [ -n "${CF_PORT:-}" ] || die "--store-phase is internal to join_bench.sh"
  store_phase "$2"
  exit 0
fi
[ $# -eq 0 ] || die "usage: bench/join_bench.sh (settings via env, see the header)"

scripts/setup --bench
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  BUILD_DIR=build-release scripts/build -DCMAKE_BUILD_TYPE=Release -DLIVEROOM_BUILD_TESTS=OFF
fi
[ -x "$bin" ] || die "no binary at $bin"

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/liveroom-bench.XXXXXX")
export BENCH_TMP
chmod 755 "$BENCH_TMP"
trap 'rm -rf "$BENCH_TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/results/join-$stamp.txt
if run_bench 2>&1 | tee "$BENCH_TMP/output.txt"; then
  cp "$BENCH_TMP/output.txt" "$out"
  cp "$out" bench/results/join-latest.txt
  say "saved $out and bench/results/join-latest.txt"
else
  { cat "$BENCH_TMP/output.txt"; say "RUN FAILED (incomplete)"; } >"$out"
  say "run failed; partial output saved to $out (join-latest.txt unchanged)" >&2
  exit 1
fi
