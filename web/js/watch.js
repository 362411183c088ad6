// The viewer's page (/watch/<room_id>). Follows the room's state and viewer count as the
// server pushes them (events.js: Server-Sent Events; asking every few seconds only when the
// stream cannot be opened), and plays it: over WHEP for webrtc rooms, over HLS (hls.js from /vendor) for
// broadcast rooms. Starts muted (browsers only autoplay muted video) with an unmute button,
// and reconnects with backoff (1 s, 2 s, 4 s … 10 s) whenever playback fails.
//
// "Live" means frames arrive (the WHEP connection's inbound video frames, or audio packets
// for a sound-only broadcast, keep rising; for HLS the video's time moves), not that a
// connection exists. Without frames the title card (room title, host, state) covers the
// video and says why: waiting for the host, connecting, reconnecting because the host left
// or the network dropped, ended (with the room's title and why it ended: the host ended it, or
// it ended by itself), or no such room (a malformed or unknown id: at once, never an endless
// "Loading").
//
// When to hold a WHEP session: a local room's server keeps a viewer waiting for the
// broadcaster (and across broadcaster reconnects), so the page connects as soon as the
// room is open; a Cloudflare input plays only while live, so the page waits for `live`.
//
// A dropped network path (Wi-Fi to mobile data) is first mended on the same WHEP session by ICE
// restarts (whip.js Session.recover(): for up to ~8 s, "Reconnecting…" meanwhile); only then,
// or when the server cannot restart ICE, does the page ask for a new session (with backoff).

import { ApiError, getRoom, joinRoom } from "./api.js";
import { followRoom } from "./events.js";
import { iceTransportPolicyFrom, play, selectedCandidatePair } from "./whip.js";
import { setPlainText, setText, t } from "./i18n.js";
import { setupPlayer } from "./player.js";
import {
  $,
  clearError,
  endedReasonKey,
  h,
  isWellFormedRoomId,
  providerOf,
  reportUncaughtErrors,
  roomIdFromPath,
  setStatus,
  setupLanguage,
  setViewers,
  showError,
} from "./ui.js";

const RETRY_MAX_MS = 10000;
const RECHECK_MS = 3000; // asking again while the server cannot be reached
const DISCONNECTED_GRACE_MS = 4000;
const SAMPLE_MS = 500; // how often the WHEP stats are read for "are frames arriving"
const STALL_MS = 2500; // no new frame (or audio packet) for this long: not live any more
const HLS_SCRIPT = "/vendor/hls.min.js";

const roomId = roomIdFromPath();
const video = $("video");
const stage = $("stage");
let player = null;

let room = null;
let ended = false;
let notFound = false;
let fatal = null; // {key}: an error no retry can fix (no HLS player), shown as the state

let session = null; // WHEP
let hls = null; // hls.js instance, or "native" when the browser plays HLS itself
let connecting = false;
let attempt = 0;
let retryTimer = null;
let retryAt = 0;
let disconnectTimer = null;
let recovering = null; // the WHEP session an ICE restart is bringing back (Session.recover())
let iceRestartUnsupported = false; // the server answered an ICE restart with 405/422: not again
// "?ice=relay" in the address: media through TURN only (tests).
const iceTransportPolicy = iceTransportPolicyFrom(location.search);
let feed = null; // the room's pushed status (events.js)
let refreshing = false;
let recheckTimer = null; // asking again while the server cannot be reached

// What the media is doing.
const media = { frames: -1, audioPackets: -1, lastVideoAt: 0, lastAudioAt: 0, hlsTime: -1 };
let everFlowed = false; // frames arrived at some point on this page
let sawLive = false; // the room was live at some point on this page
let networkLost = false; // the WHEP connection dropped (disconnected/failed), until frames flow again
let serverUnreachable = false; // the status stream dropped, or the last request could not reach the server

// What the end-to-end tests read (window.liveroomDebug): ICE restarts and the path in use.
const debug = {
  iceTransportPolicy: iceTransportPolicy || "all",
  iceServers: [], // the URLs of the current session's ICE servers (no credentials)
  iceRestarts: 0, // restarts the server accepted
  iceRestartAttempts: 0,
  iceRestartFallbacks: 0, // times a new session was asked for because a restart did not bring the path back
  candidatePair: null, // {local, remote, protocol, relayProtocol} of the pair in use
  candidateType: null, // the local candidate's type of that pair: "host", "srflx", "prflx" or "relay"
  get recovering() {
    return Boolean(recovering);
  },
  // Restarts ICE now on the current session (even while connected); resolves true, or the error's code.
  async restartIce() {
    if (!session) return "no_session";
    try {
      debug.iceRestartAttempts += 1;
      await session.restartIce();
      debug.iceRestarts += 1;
      return true;
    } catch (err) {
      return err.code || String(err);
    }
  },
};
window.liveroomDebug = debug;

// ---- what the page shows ----

function videoFlowing(now = Date.now()) {
  return media.lastVideoAt > 0 && now - media.lastVideoAt < STALL_MS;
}

function flowing(now = Date.now()) {
  return videoFlowing(now) || (media.lastAudioAt > 0 && now - media.lastAudioAt < STALL_MS);
}

// The state in words: {state (data-state), key, params, reason (data-reason), reasonKey}.
function viewState() {
  const host = room ? room.host : "";
  if (notFound) return { state: "error", key: "watch.status_not_found", reason: "not_found", reasonKey: "watch.reason_not_found" };
  if (fatal) return { state: "error", key: fatal.key, reason: "fatal" };
  if (ended) {
    // Why it ended, in words (the host ended it, or it ended by itself), else a thank-you.
    const why = room && endedReasonKey(room.ended_reason);
    return { state: "ended", key: "watch.status_ended", reason: "ended", reasonKey: why || "watch.reason_ended" };
  }
  if (!room) {
    if (serverUnreachable) {
      return { state: "connecting", key: "watch.status_reconnecting", reason: "network_lost", reasonKey: "watch.reason_network_lost" };
    }
    return { state: "connecting", key: "common.loading" };
  }
  if (flowing()) return { state: "live", key: "watch.status_live" };
  // Not navigator.onLine: it reads "offline" wherever no interface but loopback is up, even
  // with the server on that loopback; a failed connection or poll is the sign that counts.
  const lostNetwork = networkLost || serverUnreachable;
  if (!room.live && !lostNetwork) {
    if (sawLive || everFlowed) {
      return {
        state: "waiting",
        key: "watch.status_reconnecting",
        params: { host },
        reason: "broadcaster_left",
        reasonKey: "watch.reason_broadcaster_left",
      };
    }
    return { state: "waiting", key: "watch.status_waiting", params: { host } };
  }
  const retrying = retryTimer ? { seconds: Math.max(1, Math.ceil((retryAt - Date.now()) / 1000)) } : null;
  const key = retrying ? "watch.status_reconnecting_in" : everFlowed || lostNetwork ? "watch.status_reconnecting" : "watch.status_connecting";
  if (lostNetwork) return { state: "connecting", key, params: retrying, reason: "network_lost", reasonKey: "watch.reason_network_lost" };
  if (everFlowed) return { state: "connecting", key, params: retrying, reason: "no_video", reasonKey: "watch.reason_no_video" };
  return { state: "connecting", key, params: retrying };
}

function render() {
  const view = viewState();
  const status = $("status");
  setStatus(view.state, view.key, view.params);
  if (view.reason) status.dataset.reason = view.reason;
  else delete status.dataset.reason;
  if (ended && room && room.ended_reason) status.dataset.endedReason = room.ended_reason;
  else delete status.dataset.endedReason;
  stage.dataset.state = view.state;

  // The title card: over the video whenever there is no picture.
  const audioOnly = view.state === "live" && !videoFlowing();
  const overlay = $("overlay");
  overlay.hidden = view.state === "live" && !audioOnly;
  overlay.classList.toggle("audio-only", audioOnly);
  if (room && !notFound) {
    setPlainText($("poster-title"), room.title);
    setText($("poster-host"), "common.by_host", { host: room.host });
  } else {
    setText($("poster-title"), notFound ? "watch.status_not_found" : "common.loading_room");
    setPlainText($("poster-host"), "");
  }
  const badge = $("poster-badge");
  badge.hidden = !(audioOnly || view.state === "ended");
  if (audioOnly) setText(badge, "watch.audio_only");
  else if (view.state === "ended") setText(badge, "watch.badge_ended");
  // The state line, unless it would only repeat the title ("Room not found").
  if (notFound) setPlainText($("overlay-text"), "");
  else if (audioOnly) setText($("overlay-text"), "watch.status_live");
  else setText($("overlay-text"), view.key, view.params);
  for (const id of ["overlay-reason", "status-reason"]) {
    if (view.reasonKey) setText($(id), view.reasonKey, { host: room ? room.host : "" });
    else setPlainText($(id), "");
  }
  $("room-meta").hidden = notFound;
  $("viewers-line").hidden = ended || notFound;

  $("ended-note").hidden = !ended && !notFound && !fatal;
  if (player) {
    player.setActive(Boolean(session || hls) && !ended);
    player.setLive(view.state === "live");
  }
}

// ---- playback ----

function shouldPlay() {
  if (!room || ended || fatal || notFound || room.status === "ended") return false;
  if (room.mode === "broadcast") return Boolean(room.live);
  return providerOf(room) === "local" ? true : Boolean(room.live);
}

function clearRetry() {
  clearTimeout(retryTimer);
  retryTimer = null;
}

function scheduleRetry() {
  clearRetry();
  const delay = Math.min(1000 * 2 ** attempt, RETRY_MAX_MS);
  attempt += 1;
  retryAt = Date.now() + delay;
  retryTimer = setTimeout(() => {
    retryTimer = null;
    if (shouldPlay()) connect();
    else render();
  }, delay);
  render();
}

function resetMedia() {
  media.frames = -1;
  media.audioPackets = -1;
  media.lastVideoAt = 0;
  media.lastAudioAt = 0;
  media.hlsTime = -1;
}

function disconnect() {
  clearTimeout(disconnectTimer);
  disconnectTimer = null;
  if (session) session.stop();
  session = null;
  recovering = null;
  debug.candidatePair = null;
  debug.candidateType = null;
  if (hls && hls !== "native") hls.destroy();
  hls = null;
  resetMedia();
  video.srcObject = null;
  if (video.getAttribute("src")) {
    video.removeAttribute("src");
    video.load();
  }
}

function failed(error) {
  disconnect();
  if (error) showError(error);
  if (shouldPlay()) scheduleRetry();
  else render();
}

function startVideo() {
  video.play().catch(() => {
    // Even muted autoplay can be refused (e.g. power saving): the big play button shows.
  });
}

// Reads the WHEP connection's inbound counters: frames decoded rising = video arrives,
// audio packets rising = sound arrives.
async function sampleWhep() {
  const s = session;
  if (!s || s.pc.connectionState === "closed") return;
  let report;
  try {
    report = await s.pc.getStats();
  } catch {
    return;
  }
  if (s !== session) return;
  debug.candidatePair = selectedCandidatePair(report);
  debug.candidateType = debug.candidatePair && debug.candidatePair.local;
  let frames = null;
  let audioPackets = null;
  report.forEach((stat) => {
    if (stat.type !== "inbound-rtp") return;
    if (stat.kind === "video") frames = Math.max(frames ?? 0, stat.framesDecoded || 0);
    else if (stat.kind === "audio") audioPackets = Math.max(audioPackets ?? 0, stat.packetsReceived || 0);
  });
  const now = Date.now();
  if (frames !== null && frames > media.frames && media.frames >= 0) media.lastVideoAt = now;
  if (frames !== null) media.frames = frames;
  if (audioPackets !== null && audioPackets > media.audioPackets && media.audioPackets >= 0) media.lastAudioAt = now;
  if (audioPackets !== null) media.audioPackets = audioPackets;
  noteFlow(now);
}

// HLS: the video's clock moving is the sign of frames.
function sampleHls() {
  if (!hls || video.paused) return;
  if (video.currentTime > media.hlsTime && media.hlsTime >= 0) media.lastVideoAt = Date.now();
  media.hlsTime = video.currentTime;
  noteFlow(Date.now());
}

function noteFlow(now) {
  if (flowing(now)) {
    if (!everFlowed || networkLost || serverUnreachable) clearError();
    everFlowed = true;
    networkLost = false;
    // Frames arrived while the room still read as not live: when the page is asking rather than
    // being told (no stream), ask now rather than at the next tick.
    if (room && !room.live && !refreshing && feed && feed.mode === "polling") refresh();
  }
  render();
}

// Whether a dropped connection of `s` is worth ICE restarts rather than a new session.
function canRecover(s) {
  return Boolean(s.url) && !s.restartUnsupported && !iceRestartUnsupported && shouldPlay();
}

// Mends `s`'s network path with ICE restarts (whip.js Session.recover(): ~8 s at most). When it
// does not come back: a server that cannot restart ICE (405, 422) gets what came before ICE
// restarts (the grace for a blip, then a new session); otherwise a new session at once.
function recoverConnection(s) {
  if (recovering === s) return;
  recovering = s;
  clearTimeout(disconnectTimer);
  disconnectTimer = null;
  s.recoverOutcome(debug).then((outcome) => {
    if (recovering === s) recovering = null;
    if (s !== session) return; // stopped or replaced meanwhile
    if (outcome === "recovered") {
      render();
      return;
    }
    if (outcome === "unsupported") {
      iceRestartUnsupported = true;
      onWhepState(s); // as before: disconnected waits a little, failed starts over
      return;
    }
    debug.iceRestartFallbacks += 1;
    failed(null);
  });
}

function onWhepState(s) {
  if (s !== session) return;
  const state = s.pc.connectionState;
  if (state === "connected") {
    attempt = 0;
    networkLost = false;
    clearTimeout(disconnectTimer);
    disconnectTimer = null;
    clearError();
  } else if ((state === "disconnected" || state === "failed") && (recovering === s || canRecover(s))) {
    // The path dropped: restart ICE on this session before asking for a new one.
    networkLost = true;
    recoverConnection(s);
  } else if (state === "disconnected") {
    networkLost = true;
    if (!disconnectTimer) {
      disconnectTimer = setTimeout(() => {
        disconnectTimer = null;
        if (s === session && s.pc.connectionState !== "connected") failed(null);
      }, DISCONNECTED_GRACE_MS);
    }
  } else if (state === "failed" || state === "closed") {
    networkLost = true;
    failed(null);
    return;
  }
  render();
}

async function connectWhep() {
  const url = room.whep_url || (room.playback && room.playback.whep_url);
  if (!url) {
    failed({ key: "watch.no_whep" });
    return;
  }
  const s = await play(url, {
    iceTransportPolicy,
    onTrack: (stream) => {
      if (video.srcObject !== stream) video.srcObject = stream;
      startVideo();
    },
  });
  if (!shouldPlay()) {
    s.stop();
    return;
  }
  resetMedia();
  session = s;
  debug.iceServers = (s.iceServers || []).map((server) => server.urls);
  s.pc.addEventListener("connectionstatechange", () => onWhepState(s));
  onWhepState(s);
}

function loadHlsLibrary() {
  if (window.Hls) return Promise.resolve(window.Hls);
  return new Promise((resolve, reject) => {
    const script = h("script", { src: HLS_SCRIPT });
    script.addEventListener("load", () => resolve(window.Hls));
    script.addEventListener("error", () => {
      script.remove();
      reject(new Error("missing"));
    });
    document.head.append(script);
  });
}

async function connectHls() {
  const url = room.playback && room.playback.hls_url;
  if (!url) {
    failed({ key: "watch.no_hls" });
    return;
  }
  let Hls = null;
  try {
    Hls = await loadHlsLibrary();
  } catch {
    Hls = null;
  }
  if (!shouldPlay()) return;
  resetMedia();
  if (Hls && Hls.isSupported()) {
    const instance = new Hls({ liveDurationInfinity: true });
    hls = instance;
    instance.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || hls !== instance) return;
      networkLost = data.type === Hls.ErrorTypes.NETWORK_ERROR;
      failed({ key: "watch.hls_failed", params: { detail: data.details } });
    });
    instance.on(Hls.Events.MANIFEST_PARSED, startVideo);
    instance.loadSource(url);
    instance.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    hls = "native"; // Safari on iPhone plays HLS itself
    video.src = url;
    startVideo();
  } else {
    fatal = { key: Hls ? "watch.hls_unsupported" : "watch.hls_missing" };
    showError({ key: fatal.key });
    disconnect();
    render();
  }
}

async function connect() {
  if (connecting || session || hls || !shouldPlay()) return;
  clearRetry();
  connecting = true;
  render();
  try {
    if (room.mode === "broadcast") await connectHls();
    else await connectWhep();
  } catch (err) {
    // WHEP refused (e.g. 422 when this browser lacks the broadcaster's codec, 429 too many
    // sessions from this address) or the server is unreachable: say why, try again later.
    if (!err.status) networkLost = true;
    failed(err);
  } finally {
    connecting = false;
    render();
  }
}

// ---- the room ----

function renderRoomTexts() {
  if (notFound) {
    setText($("room-title"), "watch.status_not_found");
    setText(document.querySelector("title"), "watch.doc_title_not_found");
    setPlainText($("room-host"), "");
    return;
  }
  if (!room) return;
  setPlainText($("room-title"), room.title);
  setText($("room-host"), "common.by_host", { host: room.host });
  setText(document.querySelector("title"), "watch.doc_title_room", { title: room.title });
}

function applyRoom(view) {
  const wasLive = room && room.live;
  room = view;
  if (room.live) sawLive = true;
  renderRoomTexts();
  setViewers(room.viewers ?? 0);
  if (room.status === "ended") return showEnded();
  if (shouldPlay()) {
    // A Cloudflare room that just went live again: start over rather than wait out a
    // backoff that was counting failures while it was off air.
    if (!wasLive && room.live && retryTimer) {
      attempt = 0;
      clearRetry();
    }
    if (!session && !hls && !connecting && !retryTimer) connect();
  } else {
    // Off air: what went wrong while trying to play no longer matters.
    if (session || hls) disconnect();
    if (retryTimer) clearError();
    clearRetry();
    attempt = 0;
  }
  render();
}

function showEnded() {
  ended = true;
  if (feed) feed.close();
  clearRetry();
  disconnect();
  clearError();
  if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(() => {});
  render();
}

// The room as it ended (join answers 410 without it): its title and host for the title card.
async function loadEndedRoom() {
  try {
    const view = await getRoom(roomId);
    room = view;
    renderRoomTexts();
    render();
  } catch {
    // The ended state shows without the title.
  }
}

function showNotFound() {
  notFound = true;
  if (feed) feed.close();
  clearRetry();
  disconnect();
  clearError();
  renderRoomTexts();
  render();
}

// One request for the room (join): what the page does when the status stream cannot be opened
// (events.js asks again every few seconds), and how it finds out that a room does not exist.
async function refresh() {
  if (refreshing || ended || notFound) return;
  refreshing = true;
  try {
    const view = await joinRoom(roomId);
    serverUnreachable = false;
    applyRoom(view);
    const code = $("error").dataset.code;
    if (code === "network_error" || code === "page") clearError();
  } catch (err) {
    if (err.status === 410) {
      showEnded();
      loadEndedRoom();
      return;
    }
    // An id the server says cannot exist (400 invalid_field) or does not know (404).
    if (err.status === 404 || (err.status === 400 && err.code === "invalid_field")) {
      showNotFound();
      return;
    }
    serverUnreachable = !err.status;
    showError(err); // offline or a server hiccup: keep trying
    render();
    // Unreachable while the status stream still looks open (a stream over a dead network can
    // stay "open" for a long time): ask again until an answer comes. When polling, events.js asks.
    if (serverUnreachable && !(feed && feed.mode === "polling")) {
      clearTimeout(recheckTimer);
      recheckTimer = setTimeout(refresh, RECHECK_MS);
    }
  } finally {
    refreshing = false;
  }
}

// The status stream: every view the server pushes; "reconnecting" when it dropped (EventSource
// is already trying again, every 3 s): the network or the server is gone for now.
function onConnection(state) {
  if (state === "reconnecting") {
    if (!serverUnreachable) {
      serverUnreachable = true;
      showError(new ApiError("cannot reach the server", { key: "error.network" }));
    }
  } else if (state === "open" && serverUnreachable) {
    serverUnreachable = false;
    const code = $("error").dataset.code;
    if (code === "network_error" || code === "page") clearError();
  }
  render();
}

function onView(view) {
  if (ended || notFound) return;
  serverUnreachable = false;
  applyRoom(view);
}

function rerender() {
  renderRoomTexts();
  render();
}

function start() {
  setupLanguage(rerender);
  reportUncaughtErrors();
  video.muted = true;
  player = setupPlayer({ stage, video });
  video.addEventListener("resize", () => {
    // The stage takes the picture's shape (a phone held upright sends a tall picture).
    if (video.videoWidth && video.videoHeight) {
      stage.style.setProperty("--video-aspect", `${video.videoWidth} / ${video.videoHeight}`);
    }
  });
  video.addEventListener("playing", () => {
    if (hls) sampleHls();
  });
  window.addEventListener("pagehide", () => session && session.stop());
  window.addEventListener("online", () => {
    // Back online: try at once rather than at the end of a backoff.
    attempt = 0;
    if (retryTimer && shouldPlay()) {
      clearRetry();
      connect();
    } else if (session && ["disconnected", "failed"].includes(session.pc.connectionState)) {
      onWhepState(session); // mend the path now
    }
    refresh();
  });
  // The browser says the network is gone: not taken as true (it reads "offline" wherever only
  // loopback is up), but worth a check, at once and every few seconds while it says so: an open
  // status stream does not notice a dead network for a long time (its keep-alive lines are
  // invisible to EventSource), and the phone should say "network lost" as soon as it is. While
  // the browser says it is online, nothing is asked: the stream tells.
  window.addEventListener("offline", () => refresh());
  setInterval(() => {
    if (navigator.onLine === false && !(feed && feed.mode === "polling")) refresh();
  }, RECHECK_MS);
  setInterval(() => {
    if (session) sampleWhep();
    else if (hls) sampleHls();
    else if (retryTimer) render(); // the reconnect countdown
  }, SAMPLE_MS);

  if (!roomId || !isWellFormedRoomId(roomId)) {
    showNotFound();
    return;
  }
  render();
  feed = followRoom(roomId, { onView, onConnection, refresh });
}

start();
