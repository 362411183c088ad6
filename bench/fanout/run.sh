#!/usr/bin/env bash
# bench/fanout/run.sh: fan-out load benchmark (issue 12, "a crowd"). One WHIP publisher sending
# real VP8 + Opus (files made here with GStreamer, looped at real-time pace), N WHEP viewers, all
# Pion (bench/fanout/*.go, not liveroom's code), against liveroom's embedded media server and,
# interleaved in the same run, MediaMTX v1.20.1 (when the Go module proxy serves it).
#
#   bench/fanout/run.sh                            # as root; prepares, then runs in scripts/netns-run
#   scripts/netns-run bench/fanout/run.sh          # the same, once the preparation is cached
#   bench/fanout/run.sh storm                      # storm mode (or BENCH_MODE=storm), below
#
# Storm mode (issue 12: "a storm of 1,000 WHEP POSTs in 10 s that never connect lowers existing
# viewers' delivered bitrate by < 1 % and leaves no session behind"), liveroom only: one publisher
# at BENCH_KBPS, BENCH_STORM_VIEWERS steady viewers; their bitrate and loss over a baseline window,
# then over a window of the same length from the first of BENCH_STORM_POSTS WHEP POSTs sent at an
# even pace over BENCH_STORM_SECONDS, each a valid recvonly offer whose ICE never starts (the
# answer is never applied), then over one more window; then, past liveroom's --ice-timeout-ms, the
# sessions left in GET /webRTC/stats. Saved as bench/results/storm-<UTC>.txt and storm-latest.txt.
#   BENCH_STORM_VIEWERS        steady viewers                                   (50)
#   BENCH_STORM_POSTS          WHEP POSTs of the storm                          (1000)
#   BENCH_STORM_SECONDS        over how long, evenly paced                      (10)
#   BENCH_STORM_ICE_TIMEOUT_MS liveroom's --ice-timeout-ms for the run          (5000; its default is 10000)
#   BENCH_STORM_OFFER          reuse: one Pion offer, a fresh a=ice-ufrag/pwd per POST, made before the
#                              windows; pion: a Pion PeerConnection per POST, closed unanswered  (reuse)
#   BENCH_STORM_RUNS           storms per invocation, each on a fresh server     (1)
#   and BENCH_WINDOW_SECONDS, BENCH_WARMUP_SECONDS, BENCH_KBPS, BENCH_PARALLEL, BENCH_*_CPU,
#   LIVEROOM_BIN, BENCH_CACHE, BENCH_SAVE as below.
#
# Traffic goes to loopback only: the measuring part runs inside a fresh network namespace with
# only lo (scripts/netns-run; this script enters one by itself), every peer restricted to
# 127.0.0.1 (Pion: udp4, interface lo, no mDNS; liveroom --webrtc-ip 127.0.0.1; MediaMTX's ICE
# on 127.0.0.1, no STUN). The preparation (go build, module downloads, npm pack hls.js, media
# files) happens before, outside the namespace, and is cached in $BENCH_CACHE.
#
# The server is pinned to one core (BENCH_SERVER_CPU) and the generator to another
# (BENCH_GEN_CPU) with taskset; each run starts a fresh server process, so RSS per viewer is
# (RSS with N viewers - RSS with the publisher alone) / N of a process that served nothing else.
#
# Settings (environment):
#   BENCH_VIEWERS        viewer counts of the main series          ("25 50 100 200 300")
#   BENCH_KBPS           video bitrate of the main series, kbps    (1500)
#   BENCH_VIEWERS_LOW    viewer counts of the low-bitrate series   ("100 200 300 400 500"; "" skips it)
#   BENCH_KBPS_LOW       video bitrate of the low series, kbps     (300)
#   BENCH_SERVERS        servers to compare, in order              ("liveroom mediamtx")
#                        liveroom: --media-workers 1; liveroom2: --media-workers 2 on the same core;
#                        liveroom-nogso: one worker, --no-webrtc-udp-gso (a datagram per message)
#   BENCH_WINDOW_SECONDS measured window per run                   (10)
#   BENCH_WARMUP_SECONDS after every viewer connected              (3)
#   BENCH_PARALLEL       viewers connecting at once                (16)
#   BENCH_VIEWER_INTERCEPTORS  min (NACK + receiver reports), none, default   (min)
#   BENCH_SERVER_CPU / BENCH_GEN_CPU   cores for taskset           (0 / 1)
#   BENCH_HOG            1: a busy loop shares the server's core during each run (a server
#                        that is not alone on its core)                               (0)
#   BENCH_MEDIAMTX       auto (fetch v1.20.1 once, build it), 0 (skip), or a mediamtx binary
#                        with its mediamtx.yml beside it                                   (auto)
#   BENCH_CODEC          video codec of every server in the run: vp8, or h264 (x264enc constrained
#                        baseline, same size/fps/bitrate/GOP; sent as H.264 packetization-mode=1,
#                        profile-level-id 42e01f)                                          (vp8)
#   BBOX_SRC             a Broadcast Box source tree: built and compared too (skipped when unset);
#                        it has no VP8, so it needs BENCH_CODEC=h264 (refused otherwise)
#   LIVEROOM_BIN         liveroom binary                           (build/liveroom; copied first)
#   BENCH_CACHE          cache for binaries and media              (/tmp/liveroom-fanout)
#   BENCH_SAVE           1: save bench/results/fanout-<UTC>.txt and fanout-latest.txt
#                        (BENCH_CODEC=h264: fanout-h264-<UTC>.txt and fanout-h264-latest.txt;
#                        with BENCH_HOG=1: fanout-<UTC>-hog.txt only)                   (1)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export PATH="/usr/local/go/bin:$PATH"
export GOFLAGS=-mod=mod

MODE=${BENCH_MODE:-fanout}
case "${1:-}" in
  storm | fanout) MODE=$1 ;;
  "") ;;
  *) echo "fanout: unknown argument $1 (storm, fanout)" >&2; exit 2 ;;
esac
case "$MODE" in storm | fanout) ;; *) echo "fanout: unknown BENCH_MODE $MODE (storm, fanout)" >&2; exit 2 ;; esac
export BENCH_MODE=$MODE
VIEWERS=${BENCH_VIEWERS-25 50 100 200 300}
KBPS=${BENCH_KBPS:-1500}
VIEWERS_LOW=${BENCH_VIEWERS_LOW-100 200 300 400 500}
KBPS_LOW=${BENCH_KBPS_LOW:-300}
SERVERS=${BENCH_SERVERS:-liveroom mediamtx}
CODEC=${BENCH_CODEC:-vp8}
WINDOW=${BENCH_WINDOW_SECONDS:-10}
WARMUP=${BENCH_WARMUP_SECONDS:-3}
PARALLEL=${BENCH_PARALLEL:-16}
INTERCEPTORS=${BENCH_VIEWER_INTERCEPTORS:-min}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
HOG=${BENCH_HOG:-0}
GEN_CPU=${BENCH_GEN_CPU:-1}
MEDIAMTX=${BENCH_MEDIAMTX:-auto}
CACHE=${BENCH_CACHE:-/tmp/liveroom-fanout}
SAVE=${BENCH_SAVE:-1}
LIVEROOM_BIN=${LIVEROOM_BIN:-$repo/build/liveroom}
STORM_VIEWERS=${BENCH_STORM_VIEWERS:-50}
STORM_POSTS=${BENCH_STORM_POSTS:-1000}
STORM_SECONDS=${BENCH_STORM_SECONDS:-10}
STORM_ICE_TIMEOUT_MS=${BENCH_STORM_ICE_TIMEOUT_MS:-5000}
STORM_OFFER=${BENCH_STORM_OFFER:-reuse}
STORM_RUNS=${BENCH_STORM_RUNS:-1}
MTX_VERSION=v1.20.1
HLSJS_VERSION=1.7.0   # what MediaMTX v1.20.1's hlsjsdownloader/VERSION names
case "$CODEC" in vp8 | h264) ;; *) echo "fanout: unknown BENCH_CODEC $CODEC (vp8, h264)" >&2; exit 2 ;; esac
if [ -n "${BBOX_SRC:-}" ] && [ "$MODE" = fanout ] && [ "$CODEC" != h264 ]; then
  # Broadcast Box's media engine (internal/webrtc/codecs/codecs.go) registers H.264, H.265, VP9,
  # AV1 and Opus, no VP8: a VP8 publisher is refused, and a comparison must use one codec for all.
  echo "fanout: Broadcast Box has no VP8: with BBOX_SRC set, run with BENCH_CODEC=h264 (every server then gets H.264)" >&2; exit 2
fi

log() { echo "fanout: $*" >&2; }
die() { echo "fanout: $*" >&2; exit 1; }

mkdir -p "$CACHE/media"

# ---------------------------------------------------------------------------------------------
# Preparation (outside the namespace: it may download Go modules and hls.js).
# ---------------------------------------------------------------------------------------------

build_generator() {
  (cd "$here" && go build -o "$CACHE/fanout" .) ||
    die "go build of bench/fanout failed${LIVEROOM_NETNS:+ (inside the namespace the Go module proxy cannot be reached: run bench/fanout/run.sh without scripts/netns-run once, it prepares and then enters a namespace itself)}"
}

video_file() { # $1 kbps: the clip of BENCH_CODEC at that bitrate
  if [ "$CODEC" = h264 ]; then echo "$CACHE/media/v-$1k.h264"; else echo "$CACHE/media/v-$1k.ivf"; fi
}

media_desc() { # the report's media line
  if [ "$CODEC" = h264 ]; then
    echo "H.264 constrained baseline 640x360 30 fps (GStreamer x264enc CBR, IDR every 60 frames, looped 20 s Annex-B clip; sent as packetization-mode=1, profile-level-id 42e01f) + Opus 64 kbps 20 ms"
  else
    echo "VP8 640x360 30 fps (GStreamer vp8enc CBR, key frame every 60 frames, looped 20 s clip) + Opus 64 kbps 20 ms"
  fi
}

make_h264() { # $1 kbps $2 output: the VP8 clip's size, rate, length and GOP in H.264 constrained baseline, Annex B
  local kbps=$1 v=$2
  log "encoding ${kbps} kbps H.264 constrained baseline (640x360, 30 fps, 20 s, IDR every 60 frames, Annex B) -> $v"
  if command -v gst-launch-1.0 >/dev/null && gst-inspect-1.0 x264enc >/dev/null 2>&1; then
    # x264: CBR, no scene-cut key frames (an IDR every 60 frames exactly, like vp8enc's
    # keyframe-max-dist), one slice per frame (sliced-threads off); h264parse config-interval=-1
    # puts SPS + PPS before every IDR.
    gst-launch-1.0 -q videotestsrc num-buffers=600 pattern=zone-plate kx2=20 ky2=20 kt=1 \
      ! video/x-raw,width=640,height=360,framerate=30/1 \
      ! x264enc bitrate="$kbps" pass=cbr vbv-buf-capacity=1000 speed-preset=veryfast key-int-max=60 bframes=0 \
        threads=2 sliced-threads=false option-string=scenecut=0 \
      ! video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au \
      ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au \
      ! filesink location="$v.tmp" && mv "$v.tmp" "$v"
  elif command -v gst-launch-1.0 >/dev/null && gst-inspect-1.0 openh264enc >/dev/null 2>&1; then
    gst-launch-1.0 -q videotestsrc num-buffers=600 pattern=zone-plate kx2=20 ky2=20 kt=1 \
      ! video/x-raw,width=640,height=360,framerate=30/1 \
      ! openh264enc bitrate=$((kbps * 1000)) rate-control=bitrate gop-size=60 scene-change-detection=false \
      ! video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au \
      ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au \
      ! filesink location="$v.tmp" && mv "$v.tmp" "$v"
  elif command -v ffmpeg >/dev/null; then
    ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=30 -t 20 -c:v libx264 -profile:v baseline -preset veryfast \
      -b:v "${kbps}k" -minrate "${kbps}k" -maxrate "${kbps}k" -bufsize "${kbps}k" -g 60 -keyint_min 60 -sc_threshold 0 -bsf:v h264_mp4toannexb \
      -f h264 "$v.tmp" && mv "$v.tmp" "$v"
  else
    die "no H.264 encoder: apt-get install gstreamer1.0-tools gstreamer1.0-plugins-ugly (x264enc) gstreamer1.0-plugins-bad (h264parse)"
  fi
}

make_media() { # $1 kbps
  local kbps=$1 v="$CACHE/media/v-$1k.ivf" a="$CACHE/media/a.ogg"
  if [ "$CODEC" = h264 ] && [ ! -s "$(video_file "$kbps")" ]; then make_h264 "$kbps" "$(video_file "$kbps")"; fi
  if [ "$CODEC" = vp8 ] && [ ! -s "$v" ]; then
    log "encoding ${kbps} kbps VP8 (640x360, 30 fps, 20 s, key frame every 60 frames) -> $v"
    if command -v gst-launch-1.0 >/dev/null; then
      # zone-plate with a time term: detail that changes every frame, so CBR reaches its target.
      gst-launch-1.0 -q videotestsrc num-buffers=600 pattern=zone-plate kx2=20 ky2=20 kt=1 \
        ! video/x-raw,width=640,height=360,framerate=30/1 \
        ! vp8enc target-bitrate=$((kbps * 1000)) end-usage=cbr deadline=1 cpu-used=8 keyframe-max-dist=60 threads=2 \
        ! avmux_ivf ! filesink location="$v.tmp" && mv "$v.tmp" "$v"
    elif command -v ffmpeg >/dev/null; then
      ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=30 -t 20 -c:v libvpx -deadline realtime -cpu-used 8 \
        -b:v "${kbps}k" -minrate "${kbps}k" -maxrate "${kbps}k" -g 60 -f ivf "$v.tmp" && mv "$v.tmp" "$v"
    else
      die "neither gst-launch-1.0 nor ffmpeg: apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-libav"
    fi
  fi
  if [ ! -s "$a" ]; then
    log "encoding Opus 64 kbps, 20 ms packets, one per Ogg page -> $a"
    if command -v gst-launch-1.0 >/dev/null; then
      gst-launch-1.0 -q audiotestsrc num-buffers=1000 wave=sine freq=440 ! audio/x-raw,rate=48000,channels=2 \
        ! opusenc bitrate=64000 frame-size=20 ! oggmux max-page-delay=1 max-delay=1 ! filesink location="$a.tmp" && mv "$a.tmp" "$a"
    else
      ffmpeg -loglevel error -y -f lavfi -i sine=frequency=440:sample_rate=48000 -t 20 -ac 2 -c:a libopus -b:a 64k \
        -frame_duration 20 -page_duration 20000 "$a.tmp.ogg" && mv "$a.tmp.ogg" "$a"
    fi
  fi
}

# MediaMTX v1.20.1 from the Go module proxy (one try; the outcome is kept in mediamtx.status).
prepare_mediamtx() {
  case "$MEDIAMTX" in
    0) echo "skipped (BENCH_MEDIAMTX=0)" > "$CACHE/mediamtx.status"; return ;;
    auto) ;;
    *) [ -x "$MEDIAMTX" ] || die "BENCH_MEDIAMTX=$MEDIAMTX is not an executable"
       [ -f "$(dirname "$MEDIAMTX")/mediamtx.yml" ] || die "BENCH_MEDIAMTX: no mediamtx.yml beside $MEDIAMTX (its default config is edited for the run)"
       cp "$MEDIAMTX" "$CACHE/mediamtx"; cp "$(dirname "$MEDIAMTX")/mediamtx.yml" "$CACHE/mediamtx.yml"
       echo "given binary $MEDIAMTX ($("$MEDIAMTX" --version 2>/dev/null | head -1))" > "$CACHE/mediamtx.status"; return ;;
  esac
  [ -x "$CACHE/mediamtx" ] && return
  [ -f "$CACHE/mediamtx.status" ] && grep -q '^not available' "$CACHE/mediamtx.status" && return
  local out dir src="$CACHE/mediamtx-src" tmp
  tmp=$(mktemp -d)
  log "fetching github.com/bluenviron/mediamtx@$MTX_VERSION from the Go module proxy (one try)"
  if ! out=$(cd "$tmp" && go mod download -json "github.com/bluenviron/mediamtx@$MTX_VERSION" 2>&1); then
    echo "not available: go mod download github.com/bluenviron/mediamtx@$MTX_VERSION refused: $(echo "$out" | tr '\n' ' ' | cut -c1-300)" > "$CACHE/mediamtx.status"
    rm -rf "$tmp"; return
  fi
  dir=$(echo "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  rm -rf "$src" && cp -r "$dir" "$src" && chmod -R u+w "$src"
  echo "$MTX_VERSION" > "$src/internal/core/VERSION"
  # internal/servers/hls embeds hls.min.js, which MediaMTX's own go:generate downloads from
  # GitHub; the same file comes from the npm package hls.js here.
  if ! (cd "$tmp" && npm pack "hls.js@$HLSJS_VERSION" --silent >/dev/null && tar xzf "hls.js-$HLSJS_VERSION.tgz" &&
        cp package/dist/hls.min.js "$src/internal/servers/hls/hls.min.js"); then
    echo "not built: npm pack hls.js@$HLSJS_VERSION failed" > "$CACHE/mediamtx.status"; rm -rf "$tmp"; return
  fi
  log "building MediaMTX $MTX_VERSION (a few minutes the first time)"
  if ! (cd "$src" && go build -o "$CACHE/mediamtx" .) > "$CACHE/mediamtx-build.log" 2>&1; then
    echo "not built: go build failed, see $CACHE/mediamtx-build.log" > "$CACHE/mediamtx.status"; rm -rf "$tmp"; return
  fi
  cp "$src/mediamtx.yml" "$CACHE/mediamtx.yml"
  echo "v1.20.1 from the Go module proxy, built with $(go version | cut -d' ' -f3), hls.js $HLSJS_VERSION from npm" > "$CACHE/mediamtx.status"
  rm -rf "$tmp"
}

prepare_bbox() {
  if [ -z "${BBOX_SRC:-}" ]; then
    echo "skipped: BBOX_SRC is not set (point it at a Broadcast Box source tree to compare it too)" > "$CACHE/bbox.status"
    return
  fi
  [ -d "$BBOX_SRC" ] || die "BBOX_SRC=$BBOX_SRC is not a directory"
  local rev
  rev=$(cd "$BBOX_SRC" && git rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout')
  if (cd "$BBOX_SRC" && go build -o "$CACHE/broadcast-box" .) > "$CACHE/bbox-build.log" 2>&1; then
    echo "built from $BBOX_SRC ($rev) with $(go version | cut -d' ' -f3), Pion $(cd "$BBOX_SRC" && go list -m -f '{{.Version}}' github.com/pion/webrtc/v4 2>/dev/null)" > "$CACHE/bbox.status"
  else
    echo "not built: go build in $BBOX_SRC failed, see $CACHE/bbox-build.log" > "$CACHE/bbox.status"
  fi
}

prepare() {
  [ -x "$LIVEROOM_BIN" ] || die "no liveroom binary at $LIVEROOM_BIN (scripts/build, or set LIVEROOM_BIN)"
  # A copy: another build of build/liveroom during the run must not change what is measured.
  cp -p "$LIVEROOM_BIN" "$CACHE/liveroom.new" && mv "$CACHE/liveroom.new" "$CACHE/liveroom" # -p: "built" in the report is its build time
  echo "$LIVEROOM_BIN" > "$CACHE/liveroom.source"
  build_generator
  make_media "$KBPS"
  # Storm mode measures liveroom alone (its GET /webRTC/stats counts the sessions left); the
  # cache's mediamtx.status and bbox.status are left as a fan-out run wrote them.
  [ "$MODE" = storm ] && return
  [ -n "$VIEWERS_LOW" ] && make_media "$KBPS_LOW"
  # (A run without MediaMTX leaves the status a build wrote: the report says it was skipped.)
  case " $SERVERS " in *" mediamtx "*) prepare_mediamtx ;; esac
  prepare_bbox
}

if [ -z "${LIVEROOM_NETNS:-}" ]; then
  [ "$EUID" = 0 ] || die "run as root: the measurement runs in a network namespace (scripts/netns-run)"
  prepare
  log "entering a loopback-only network namespace (scripts/netns-run)"
  BENCH_PREPARED=1 exec "$repo/scripts/netns-run" "$0" "$@"
fi

# ---------------------------------------------------------------------------------------------
# Measurement (inside the namespace).
# ---------------------------------------------------------------------------------------------

if ip -o addr show | awk '$2 != "lo" {found=1} END {exit !found}'; then
  die "this namespace has non-loopback addresses; run in scripts/netns-run"
fi
if [ "${BENCH_PREPARED:-}" != 1 ]; then
  export GOPROXY=off # no network here: only what is cached
  prepare
fi
[ "$(nproc)" -ge 2 ] || log "warning: $(nproc) core(s): server and generator share a core"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d /tmp/fanout-run.XXXXXX)
jsonl="$work/results.jsonl"
: > "$jsonl"
server_pid=""
hog_pid=""

stop_server() {
  if [ -n "$hog_pid" ]; then kill "$hog_pid" 2>/dev/null || true; wait "$hog_pid" 2>/dev/null || true; hog_pid=""; fi
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$server_pid" 2>/dev/null && { log "server $server_pid did not stop on SIGTERM within 5 s: killed"; echo "did not stop on SIGTERM within 5 s" >> "$work/stop-problems.txt"; kill -KILL "$server_pid" 2>/dev/null || true; }
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap stop_server EXIT

mtx_config() { # $1 output file
  # MediaMTX's own mediamtx.yml with WebRTC only, on loopback: HTTP 127.0.0.1:18889, ICE UDP
  # 127.0.0.1:18190, no addresses from interfaces, no ICE servers. v1.20.1 refuses to start
  # with neither webrtcIPsFromInterfaces nor webrtcAdditionalHosts ("at least one ... must be
  # filled"), so the one address it advertises is given as an additional host: 127.0.0.1.
  sed -e 's/^rtsp: .*/rtsp: false/' -e 's/^rtmp: .*/rtmp: false/' -e 's/^hls: .*/hls: false/' \
      -e 's/^srt: .*/srt: false/' -e 's/^moq: .*/moq: false/' -e 's/^api: .*/api: false/' \
      -e 's/^webrtcAddress: .*/webrtcAddress: 127.0.0.1:18889/' \
      -e 's/^webrtcLocalUDPAddress: .*/webrtcLocalUDPAddress: 127.0.0.1:18190/' \
      -e 's/^webrtcLocalTCPAddress: .*/webrtcLocalTCPAddress: ""/' \
      -e 's/^webrtcIPsFromInterfaces: .*/webrtcIPsFromInterfaces: false/' \
      -e 's/^webrtcAdditionalHosts: .*/webrtcAdditionalHosts: [127.0.0.1]/' \
      -e 's/^webrtcICEServers2: .*/webrtcICEServers2: []/' \
      "$CACHE/mediamtx.yml" > "$1"
}

# one_run SERVER SERIES KBPS N
one_run() {
  local server=$1 series=$2 kbps=$3 n=$4 slog="$work/$1-$2-$4.log" data
  local -a gen=(taskset -c "$GEN_CPU" "$CACHE/fanout" run -label "$server" -series "$series" -n "$n"
    -codec "$CODEC" -video "$(video_file "$kbps")" -audio "$CACHE/media/a.ogg" -parallel "$PARALLEL"
    -warmup "${WARMUP}s" -window "${WINDOW}s" -viewer-interceptors "$INTERCEPTORS" -json "$jsonl"
    -server-core "$SERVER_CPU" -gen-core "$GEN_CPU")
  case "$server" in
    liveroom | liveroom2 | liveroom-nogso)
      # liveroom: one media worker; liveroom2: two, on the same one core (what the hand-off
      # between workers costs; the second worker's port is 18190); liveroom-nogso: one worker
      # without UDP GSO (what sending a viewer's frame as one message saves).
      data=$(mktemp -d "$work/data.XXXXXX")
      taskset -c "$SERVER_CPU" "$CACHE/liveroom" serve --stream local --listen 127.0.0.1:18080 \
        --webrtc-ip 127.0.0.1 --webrtc-port 18189 --data-dir "$data" --log-level info \
        --media-workers "$([ "$server" = liveroom2 ] && echo 2 || echo 1)" \
        $([ "$server" = liveroom-nogso ] && echo --no-webrtc-udp-gso) \
        --max-sessions 0 --max-sessions-per-ip 0 --max-sessions-per-room 0 --offers-per-second 0 \
        --creates-per-minute 0 > "$slog" 2>&1 &
      server_pid=$!
      gen+=(-target liveroom -base http://127.0.0.1:18080 -server-pid "$server_pid" -server-udp-port 18189)
      ;;
    mediamtx)
      mtx_config "$work/mediamtx.yml"
      taskset -c "$SERVER_CPU" "$CACHE/mediamtx" "$work/mediamtx.yml" > "$slog" 2>&1 &
      server_pid=$!
      gen+=(-target whip -whip http://127.0.0.1:18889/bench/whip -whep http://127.0.0.1:18889/bench/whep
        -ready http://127.0.0.1:18889/ -server-pid "$server_pid" -server-udp-port 18190)
      ;;
    bbox)
      # Broadcast Box in its default mode: one UDP socket per PeerConnection (no UDP_MUX_PORT: its
      # mux, ice.NewMultiUDPMuxFromPort without UDPMuxFromPortWithLoopback, binds no loopback
      # address, so on lo it would offer no candidate). Host candidates on lo only
      # (INTERFACE_FILTER=lo, INCLUDE_LOOPBACK_CANDIDATE: Pion leaves loopback out otherwise), no
      # STUN_SERVERS, no NAT_1_TO_1_IP (its rewrite appends to gathered addresses: nothing to add
      # here). NETWORK_TYPES is left unset: its parser (internal/webrtc/settings.go) keeps only the
      # names that fail to parse, so "udp4" would yield an empty list (= every type) anyway; the
      # generator offers udp4 only. No frontend (DISABLE_FRONTEND: no web/build to serve), logs to
      # stdout only, a fresh working directory (no .env.production, profiles/ there). The Bearer
      # token is the stream key: WHIP and WHEP both use "fanout". WHEP has no DELETE: a viewer's
      # session ends when its PeerConnection closes.
      data=$(mktemp -d "$work/bbox.XXXXXX")
      (cd "$data" && exec taskset -c "$SERVER_CPU" env DISABLE_FRONTEND=1 HTTP_ADDRESS=127.0.0.1:18080 INTERFACE_FILTER=lo \
        INCLUDE_LOOPBACK_CANDIDATE=1 LOGGING_ENABLED=false STREAM_PROFILE_PATH="$data/profiles" "$CACHE/broadcast-box") > "$slog" 2>&1 &
      server_pid=$!
      gen+=(-target whip -whip http://127.0.0.1:18080/api/whip -whep http://127.0.0.1:18080/api/whep
        -token fanout -ready http://127.0.0.1:18080/api/status -server-pid "$server_pid" -server-udp-port 0)
      ;;
  esac
  if [ "$HOG" = 1 ]; then
    taskset -c "$SERVER_CPU" sh -c 'while :; do :; done' &
    hog_pid=$!
  fi
  # The server's UDP socket buffers (skmem rb/tb), once it has bound its port. Broadcast Box has
  # one socket per session on random ports: how many it holds, and the first one's buffers.
  if [ "$server" = bbox ]; then
    (sleep 3; command -v ss >/dev/null && echo "$server: sockets of the process at 3 s: $(ss -uamnpH 2>/dev/null | grep -c "pid=$server_pid,"); the first: $(ss -uamnpH 2>/dev/null | grep -A1 "pid=$server_pid," | head -2 | sed 's/users:.*//' | tr -s ' \t\n' ' ')" > "$work/$server-socket.txt") &
  else
    (sleep 3; command -v ss >/dev/null && echo "$server: $(ss -uamnH '( sport = :18189 or sport = :18190 )' 2>/dev/null | tr -s ' \t\n' ' ')" > "$work/$server-socket.txt") &
  fi
  if ! "${gen[@]}"; then
    log "$server $series N=$n: the generator failed (server log: $slog)"
    echo "$server $series N=$n: generator failed" >> "$work/run-problems.txt"
  fi
  stop_server
}

# ---------------------------------------------------------------------------------------------
# Storm mode.
# ---------------------------------------------------------------------------------------------
# liveroom's limits that a storm from one address (127.0.0.1) would hit, raised for the bench: the
# steady viewers and the storm share the address. Its defaults: --max-sessions 4000,
# --max-sessions-per-ip 100 (a storm's pending sessions count), --offers-per-second 5 (bursts of
# 30), --creates-per-minute 10. The HTTP connection limits stay at their defaults (the server logs
# them: "limits: ..."). The ICE timeout is shortened so that the wait for the storm's sessions to
# go is too.
STORM_LIMITS=(--max-sessions 0 --max-sessions-per-ip 0 --max-sessions-per-room 0 --offers-per-second 0 --creates-per-minute 0)
storm_cmd=(serve --stream local --listen 127.0.0.1:18080 --webrtc-ip 127.0.0.1 --webrtc-port 18189 --data-dir "<fresh dir>"
  --log-level info "${STORM_LIMITS[@]}" --ice-timeout-ms "$STORM_ICE_TIMEOUT_MS")

storm_run() { # $1 run number
  local i=$1 slog="$work/liveroom-storm-$1.log" data
  data=$(mktemp -d "$work/data.XXXXXX")
  taskset -c "$SERVER_CPU" "$CACHE/liveroom" "${storm_cmd[@]/#<fresh dir>/$data}" > "$slog" 2>&1 &
  server_pid=$!
  (sleep 3; command -v ss >/dev/null && echo "liveroom: $(ss -uamnH '( sport = :18189 )' 2>/dev/null | tr -s ' \t\n' ' ')" > "$work/liveroom-socket.txt") &
  if ! taskset -c "$GEN_CPU" "$CACHE/fanout" run -target liveroom -base http://127.0.0.1:18080 -label liveroom -series "${KBPS}k" \
      -n "$STORM_VIEWERS" -codec "$CODEC" -video "$(video_file "$KBPS")" -audio "$CACHE/media/a.ogg" -parallel "$PARALLEL" \
      -warmup "${WARMUP}s" -window "${WINDOW}s" -viewer-interceptors "$INTERCEPTORS" -json "$jsonl" \
      -server-pid "$server_pid" -server-udp-port 18189 -server-core "$SERVER_CPU" -gen-core "$GEN_CPU" \
      -storm "$STORM_POSTS" -storm-seconds "${STORM_SECONDS}s" -storm-offer "$STORM_OFFER" \
      -ice-timeout "${STORM_ICE_TIMEOUT_MS}ms" > "$work/storm-$i.out"; then
    log "storm run $i: the generator failed (server log: $slog)"
    echo "storm run $i: generator failed" >> "$work/run-problems.txt"
  fi
  stop_server
}

if [ "$MODE" = storm ]; then
  start_s=$SECONDS
  for i in $(seq "$STORM_RUNS"); do
    log "storm run $i of $STORM_RUNS: $STORM_VIEWERS steady viewers, $STORM_POSTS WHEP POSTs over $STORM_SECONDS s"
    storm_run "$i"
  done
  elapsed=$((SECONDS - start_s))
  report="$work/report.txt"
  newer=0
  while read -r f; do
    if [ -n "$f" ] && [ "$repo/$f" -nt "$CACHE/liveroom" ]; then newer=$((newer + 1)); fi
  done < <(cd "$repo" && git status --porcelain -- src 2>/dev/null | awk '{print $NF}' || true)
  {
    echo "storm benchmark, $stamp (UTC)"
    built=$(stat -c %y "$CACHE/liveroom" | cut -d. -f1)
    echo "liveroom: $(cat "$CACHE/liveroom.source"), built $built; the tree is at $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null), which has $(cd "$repo" && git log --oneline --since="$built" -- src 2>/dev/null | wc -l) commits touching src/ since then (newest before: $(cd "$repo" && git log -1 --format='%h %ci' --until="$built" -- src 2>/dev/null)) and $newer uncommitted src/ files newer than the binary"
    echo "generator: bench/fanout (Pion $(cd "$here" && go list -m -f '{{.Version}}' github.com/pion/webrtc/v4 2>/dev/null), $(go version | cut -d' ' -f3)), viewer interceptors: $INTERCEPTORS"
    echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), $(uname -r); server on core $SERVER_CPU, generator on core $GEN_CPU (taskset)"
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); compilers running: $(pgrep -c cc1plus || true)"
    echo "server: liveroom ${storm_cmd[*]}"
    echo "  limits raised for the bench (the storm and the steady viewers all come from 127.0.0.1): --max-sessions 0 (default 4000),"
    echo "  --max-sessions-per-ip 0 (default 100), --offers-per-second 0 (default 5, bursts of 30), --creates-per-minute 0 (default 10);"
    echo "  --ice-timeout-ms $STORM_ICE_TIMEOUT_MS (default 10000). HTTP connection limits at their defaults, $(grep -ho 'limits: .*' "$work"/liveroom-storm-1.log 2>/dev/null | head -1)"
    echo "media: $(media_desc) at ${KBPS} kbps"
    echo "per run: a fresh server; publisher; $STORM_VIEWERS steady viewers ($PARALLEL connecting at once); ${WARMUP} s warm-up; windows of ${WINDOW} s:"
    echo "  baseline; storm (from the storm's first POST; it starts one clip loop after the baseline's start, so that both windows"
    echo "  carry the same part of the clip); after (right after the storm window). The storm: $STORM_POSTS WHEP POSTs evenly over"
    echo "  $STORM_SECONDS s, offers: $STORM_OFFER (a recvonly video + audio Pion offer; reuse: made once before the windows, a fresh"
    echo "  a=ice-ufrag/a=ice-pwd per POST); no answer is ever applied, so no STUN reaches the server for them. Then, $STORM_ICE_TIMEOUT_MS ms"
    echo "  + 3 s after the last POST, GET /webRTC/stats: the sessions left."
    echo "runs: $STORM_RUNS; took ${elapsed} s"
    echo
    cat <<'EOF'
Columns: kbps/min/p5 = RTP payload received per steady viewer (video + audio) in the window;
deliv% = video codec bytes a steady viewer received / sent by the publisher in the window (mean,
worst viewer): the delivered share, which does not move with the clip's own bitrate; loss% =
packets missing from the sequence numbers (after NACK repairs), mean and worst viewer; pubkbp =
what the publisher sent (video + audio), PLI = PLI + FIR it received, frcd = key frames it sent
early for them, lat = frames it sent late; srv% = server CPU (utime + stime) as % of one core,
core% = its core's busy time; gen% and core% = the generator's; sdrops/gdrops = datagrams the
kernel dropped at full receive buffers (server media socket / generator); sess = GET
/webRTC/stats sessions at the window's end; room = the room's viewer count (connected viewers);
drop = steady viewers whose ICE failed or disconnected.
EOF
    "$CACHE/fanout" storm-report "$jsonl"
    echo
    echo "Server UDP socket (ss -uam: skmem r = queued, rb = receive buffer, tb = send buffer):"
    sed 's/^/  /' "$work/liveroom-socket.txt" 2>/dev/null || true
    echo
    echo "Server logs per run: sessions closed at the ICE timeout / a DTLS timeout / consent expiry; warn/error lines (the commonest, numbers as N):"
    for f in "$work"/liveroom-storm-*.log; do
      [ -e "$f" ] || continue
      echo "  $(basename "$f" .log): ice-timeout $(grep -c 'ICE connectivity checks did not complete' "$f" || true), dtls-timeout $(grep -c 'DTLS handshake did not complete' "$f" || true), consent-expired $(grep -c 'consent expired' "$f" || true), warn/error $(grep -cE ' (warn|warning|error|critical) ' "$f" || true)"
      grep -E ' (warn|warning|error|critical) ' "$f" | sed -E 's/^[0-9TZ:./ -]+//; s/[0-9a-f]{8,}/<id>/g; s/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -5 | sed 's/^/      /' || true
    done
    if [ -f "$work/run-problems.txt" ]; then echo "Generator failures:"; sed 's/^/  /' "$work/run-problems.txt"; fi
    if [ -f "$work/stop-problems.txt" ]; then echo "Server stop problems:"; sed 's/^/  /' "$work/stop-problems.txt"; fi
    echo
    echo "raw results (JSON lines, with the session count every 250 ms), generator output and server logs: $work"
  } > "$report"
  cat "$report"
  if [ "$SAVE" = 1 ]; then
    mkdir -p "$repo/bench/results"
    sfx=""; if [ "$CODEC" = h264 ]; then sfx=-h264; fi # an H.264 storm keeps its own latest
    cp "$report" "$repo/bench/results/storm$sfx-$stamp.txt"
    cp "$report" "$repo/bench/results/storm$sfx-latest.txt"
    log "saved bench/results/storm$sfx-$stamp.txt and storm$sfx-latest.txt"
  fi
  exit 0
fi

servers=()
for s in $SERVERS; do
  case "$s" in
    liveroom | liveroom2 | liveroom-nogso) servers+=("$s") ;;
    mediamtx) [ -x "$CACHE/mediamtx" ] && servers+=(mediamtx) ;;
    *) die "unknown server $s in BENCH_SERVERS (liveroom, liveroom2, liveroom-nogso, mediamtx)" ;;
  esac
done
[ -x "$CACHE/broadcast-box" ] && [ -n "${BBOX_SRC:-}" ] && servers+=(bbox)

start_s=$SECONDS
step=0
for spec in "${KBPS}k:$VIEWERS" "${KBPS_LOW}k:$VIEWERS_LOW"; do
  series=${spec%%:*}
  ns=${spec#*:}
  [ -n "$ns" ] || continue
  for n in $ns; do
    # Interleaved A/B: the order of the servers alternates from one N to the next.
    order=("${servers[@]}")
    if [ $((step % 2)) = 1 ] && [ "${#servers[@]}" -gt 1 ]; then
      order=(); for ((i = ${#servers[@]} - 1; i >= 0; i--)); do order+=("${servers[$i]}"); done
    fi
    step=$((step + 1))
    for s in "${order[@]}"; do
      log "$s, $series, N=$n"
      one_run "$s" "$series" "${series%k}" "$n"
    done
  done
done
elapsed=$((SECONDS - start_s))

# ---------------------------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------------------------
report="$work/report.txt"
{
  echo "fanout benchmark, $stamp (UTC)"
  echo "liveroom: $(cat "$CACHE/liveroom.source") at $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null)$(cd "$repo" && git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ has uncommitted changes)'), built $(stat -c %y "$CACHE/liveroom" | cut -d. -f1)"
  case " $SERVERS " in
    *" mediamtx "*) echo "MediaMTX: $(cat "$CACHE/mediamtx.status" 2>/dev/null)" ;;
    *) echo "MediaMTX: skipped (not in BENCH_SERVERS)" ;;
  esac
  echo "Broadcast Box: $(cat "$CACHE/bbox.status")"
  echo "video codec: $CODEC for every server in this run ($(printf '%s ' "${servers[@]}" | sed 's/ $//; s/ /, /g'); BENCH_CODEC=$CODEC)"
  echo "generator: bench/fanout (Pion $(cd "$here" && go list -m -f '{{.Version}}' github.com/pion/webrtc/v4 2>/dev/null), $(go version | cut -d' ' -f3)), viewer interceptors: $INTERCEPTORS"
  echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), $(uname -r); server on core $SERVER_CPU, generator on core $GEN_CPU (taskset)"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); compilers running: $(pgrep -c cc1plus || true)"
  echo "media: $(media_desc); a PLI/FIR makes the publisher jump to the clip's next key frame (at most one per 300 ms)"
  if [ "$HOG" = 1 ]; then echo "BENCH_HOG=1: a busy loop (sh) shared the server's core $SERVER_CPU during every run"; fi
  echo "per run: a fresh server process; publisher; ${PARALLEL} viewers connecting at once; ${WARMUP} s warm-up; ${WINDOW} s window; viewers DELETE, then the publisher"
  echo "series: ${KBPS}k: N = $VIEWERS; ${KBPS_LOW}k: N = ${VIEWERS_LOW:-(skipped)}; took ${elapsed} s"
  echo
  cat <<'EOF'
Columns: conn = viewers connected (DTLS) before the window; refus = offers not answered 201;
kbps/min/p5 = RTP payload received per viewer (video + audio) in the window; loss% = packets
missing from the sequence numbers (video + audio, after NACK repairs), mean and worst viewer;
deliv% = video codec bytes a viewer received / the publisher sent in the window (VP8 frames; H.264
NAL units, less STAP-A/FU-A headers; mean, worst);
ttfp/ttfkf = WHEP POST to the first RTP packet / to the first packet of a key frame (VP8: P bit 0;
H.264: a packet with the SPS, which Pion sends in a STAP-A before the IDR, or the IDR's first) (ms,
median and p90); ice = answer to ICE connected; dtls = ICE connected to DTLS done; pkt = DTLS
done to the first RTP packet (medians, ms); srv% = server CPU (utime+stime from /proc/<pid>/stat
over the window) as % of one core, core% = how busy its core was (anything on it: other
processes on a shared machine show here); gen% = the generator's own, then its core; joinms =
server CPU ms per viewer while the N viewers connected; rss0/rss1 = server VmRSS with the
publisher alone / with N viewers; KiB/v = (rss1 - rss0) / N; last column: the publisher's video kbps / key frames / forced
key frames / PLI+FIR / NACKs received / late frames in the window; PLI+FIR and forced key frames
over the whole run (joins included); liveroom's room viewer count at the window's end and after
every viewer's DELETE (and how long until it read 0). sdrops/gdrops = datagrams the kernel
dropped in the window because a receive buffer was full (/proc/net/udp "drops"): at the server's
media socket / at the generator's sockets.
Pion's ICE agent (the generator) nominates its pair on its 200 ms check tick unless a check from
the server triggers it: liveroom (ICE-lite) sends a triggered check back on each new tuple's first
valid check, MediaMTX and Broadcast Box (full agents) send their own checks, so "ice" is a few ms
on each while the generator keeps up.
EOF
  "$CACHE/fanout" report "$jsonl"
  echo
  echo "Server UDP sockets (ss -uam: skmem r = queued, rb = receive buffer, tb = send buffer):"
  cat "$work"/*-socket.txt 2>/dev/null | sort -u | sed 's/^/  /' || true
  echo
  echo "Server logs (warn/error/critical lines per run, the commonest with numbers as N):"
  bad=' (warn|warning|error|critical|panic|WAR|ERR) '
  for f in "$work"/*.log; do
    [ -e "$f" ] || continue
    # liveroom: "<time> warn|error|critical ..."; MediaMTX: "<date> <time> WAR|ERR ...".
    c=$(grep -cE "$bad" "$f" || true)
    echo "  $(basename "$f" .log): $c"
    grep -E "$bad" "$f" | sed -E 's/^[0-9TZ:./ -]+//; s/[0-9a-f]{8,}/<id>/g; s/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -5 | sed 's/^/      /' || true
  done
  echo
  echo "liveroom's media log (info level) per run: sessions closed for a DTLS timeout / ICE consent expiry;"
  echo "viewer NACKed packets it did not hold (summed over viewers); the publisher's video line:"
  for f in "$work"/liveroom-*.log; do
    [ -e "$f" ] || continue
    echo "  $(basename "$f" .log): dtls-timeout $(grep -c 'DTLS handshake did not complete' "$f" || true), consent-expired $(grep -c 'consent expired' "$f" || true), not-held $(grep -o 'not held [0-9]*' "$f" | awk '{s += $3} END {print s + 0}'); $(grep -o 'publisher [0-9a-f]* video: .*' "$f" | head -1)"
  done
  if [ -f "$work/run-problems.txt" ]; then echo "Generator failures:"; sed 's/^/  /' "$work/run-problems.txt"; fi
  if [ -f "$work/stop-problems.txt" ]; then echo "Server stop problems:"; sed 's/^/  /' "$work/stop-problems.txt"; fi
  echo
  echo "raw results (JSON lines) and server logs: $work"
} > "$report"
cat "$report"
if [ "$SAVE" = 1 ]; then
  mkdir -p "$repo/bench/results"
  if [ "$HOG" = 1 ]; then # not the machine's normal state: not the latest figures
    cp "$report" "$repo/bench/results/fanout-$stamp-hog.txt"
    log "saved bench/results/fanout-$stamp-hog.txt"
  elif [ "$CODEC" = h264 ]; then # not comparable with the VP8 runs: a latest of its own
    cp "$report" "$repo/bench/results/fanout-h264-$stamp.txt"
    cp "$report" "$repo/bench/results/fanout-h264-latest.txt"
    log "saved bench/results/fanout-h264-$stamp.txt and fanout-h264-latest.txt"
  else
    cp "$report" "$repo/bench/results/fanout-$stamp.txt"
    cp "$report" "$repo/bench/results/fanout-latest.txt"
    log "saved bench/results/fanout-$stamp.txt and fanout-latest.txt"
  fi
fi
