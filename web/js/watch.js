// The viewer's page (/watch/<room_id>). Polls `join` for the room's state and viewer
// count, and plays it: over WHEP for webrtc rooms, over HLS (hls.js from /vendor) for
// broadcast rooms. Starts muted (browsers only autoplay muted video) with an unmute
// button, and reconnects with backoff (1 s, 2 s, 4 s … 10 s) whenever playback fails.
//
// When to hold a WHEP session: a local room's server keeps a viewer waiting for the
// broadcaster (and across broadcaster reconnects), so the page connects as soon as the
// room is open; a Cloudflare input plays only while live, so the page waits for `live`.

import { joinRoom } from "./api.js";
import { play } from "./whip.js";
import { $, clearError, h, providerOf, reportUncaughtErrors, roomIdFromPath, setStatus, setViewers, showError } from "./ui.js";

const POLL_MS = 3000;
const RETRY_MAX_MS = 10000;
const DISCONNECTED_GRACE_MS = 4000;
const HLS_SCRIPT = "/vendor/hls.min.js";

const roomId = roomIdFromPath();
const video = $("video");

let room = null;
let ended = false;
let fatal = null; // an error no retry can fix (no such room), shown as the state

let session = null; // WHEP
let hls = null; // hls.js instance, or "native" when the browser plays HLS itself
let connecting = false;
let mediaUp = false; // the transport is connected (WHEP) or the video is playing (HLS)
let attempt = 0;
let retryTimer = null;
let retryAt = 0;
let disconnectTimer = null;
let pollTimer = null;
let polling = false;

// ---- status ----

function render() {
  let state;
  let text;
  if (fatal) [state, text] = ["error", fatal];
  else if (ended) [state, text] = ["ended", "This room has ended"];
  else if (!room) [state, text] = ["connecting", "Loading…"];
  else if (!room.live) [state, text] = ["waiting", "Waiting for the broadcaster…"];
  else if (mediaUp) [state, text] = ["live", "Live"];
  else if (retryTimer) {
    const seconds = Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
    [state, text] = ["connecting", `Reconnecting in ${seconds} s…`];
  } else [state, text] = ["connecting", "Connecting…"];
  setStatus(state, text);

  const overlay = $("overlay");
  overlay.hidden = state === "live";
  if (overlay.textContent !== text) overlay.textContent = text;
  $("unmute").hidden = state !== "live" || !(video.muted || video.paused);
  $("unmute").textContent = video.paused ? "Tap to play" : "Tap to unmute";
  $("ended-note").hidden = !ended && !fatal;
}

// ---- playback ----

function shouldPlay() {
  if (!room || ended || fatal || room.status === "ended") return false;
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

function disconnect() {
  clearTimeout(disconnectTimer);
  disconnectTimer = null;
  if (session) session.stop();
  session = null;
  if (hls && hls !== "native") hls.destroy();
  hls = null;
  mediaUp = false;
  video.srcObject = null;
  if (video.getAttribute("src")) {
    video.removeAttribute("src");
    video.load();
  }
}

function failed(message) {
  disconnect();
  if (message) showError(message);
  if (shouldPlay()) scheduleRetry();
  else render();
}

function startVideo() {
  video.play().catch(() => {
    // Even muted autoplay can be refused (e.g. power saving): the unmute button then
    // doubles as a play button.
  });
}

function onWhepState(s) {
  if (s !== session) return;
  const state = s.pc.connectionState;
  if (state === "connected") {
    mediaUp = true;
    attempt = 0;
    clearTimeout(disconnectTimer);
    disconnectTimer = null;
    clearError();
  } else if (state === "disconnected") {
    mediaUp = false;
    if (!disconnectTimer) {
      disconnectTimer = setTimeout(() => {
        disconnectTimer = null;
        if (s === session && s.pc.connectionState !== "connected") failed("The connection dropped; reconnecting.");
      }, DISCONNECTED_GRACE_MS);
    }
  } else if (state === "failed" || state === "closed") {
    failed("The connection to the media server was lost; reconnecting.");
    return;
  }
  render();
}

async function connectWhep() {
  const url = room.whep_url || (room.playback && room.playback.whep_url);
  if (!url) {
    failed("This room has no WebRTC playback address yet.");
    return;
  }
  const s = await play(url, {
    onTrack: (stream) => {
      if (video.srcObject !== stream) video.srcObject = stream;
      startVideo();
    },
  });
  if (!shouldPlay()) {
    s.stop();
    return;
  }
  session = s;
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
    failed("This room has no HLS playback address yet.");
    return;
  }
  let Hls = null;
  try {
    Hls = await loadHlsLibrary();
  } catch {
    Hls = null;
  }
  if (!shouldPlay()) return;
  if (Hls && Hls.isSupported()) {
    const player = new Hls({ liveDurationInfinity: true });
    hls = player;
    player.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || hls !== player) return;
      failed(`The video could not be loaded (${data.details}); reconnecting.`);
    });
    player.on(Hls.Events.MANIFEST_PARSED, startVideo);
    player.loadSource(url);
    player.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    hls = "native"; // Safari on iPhone plays HLS itself
    video.src = url;
    startVideo();
  } else if (!Hls) {
    fatal = "The HLS player is not installed on this server (web/vendor/hls.min.js); run scripts/setup there.";
    disconnect();
    render();
  } else {
    fatal = "This browser cannot play HLS.";
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
    // WHEP refused (e.g. 422 when this browser lacks the broadcaster's codec) or the
    // server is unreachable: say why, and try again later.
    failed(err.message);
  } finally {
    connecting = false;
    render();
  }
}

// ---- the room ----

function applyRoom(view) {
  const wasLive = room && room.live;
  room = view;
  $("room-title").textContent = room.title;
  $("room-host").textContent = `by ${room.host}`;
  document.title = `${room.title} · liveroom`;
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
  clearRetry();
  clearTimeout(pollTimer);
  disconnect();
  clearError();
  render();
}

async function poll() {
  if (polling) return;
  polling = true;
  clearTimeout(pollTimer);
  pollTimer = null;
  try {
    applyRoom(await joinRoom(roomId));
    if ($("error").dataset.code === "network_error") clearError();
  } catch (err) {
    if (err.status === 410) return showEnded();
    if (err.status === 404) {
      fatal = "No such room";
      showError(`There is no room with id ${roomId}. Check the link.`);
      disconnect();
      render();
      return;
    }
    showError(err); // offline or a server hiccup: keep trying
  } finally {
    polling = false;
  }
  if (!ended && !fatal) pollTimer = setTimeout(poll, document.hidden ? POLL_MS * 3 : POLL_MS);
}

function start() {
  reportUncaughtErrors();
  video.muted = true;
  $("unmute").addEventListener("click", () => {
    video.muted = false;
    video.volume = 1;
    video.play().catch((err) => showError(`The browser would not play the sound: ${err.message}`));
    render();
  });
  video.addEventListener("volumechange", render);
  video.addEventListener("pause", render);
  video.addEventListener("playing", () => {
    if (hls) mediaUp = true;
    render();
    // Frames arrived: ask the room now rather than at the next tick, so "live" shows at once.
    if (room && !room.live && !connecting) poll();
  });
  window.addEventListener("pagehide", () => session && session.stop());
  setInterval(() => retryTimer && render(), 1000); // the reconnect countdown

  if (!roomId) {
    fatal = "No room";
    showError("This address does not name a room. Pick one in the lobby.");
    render();
    return;
  }
  render();
  poll();
}

start();
