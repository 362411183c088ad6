// The studio (/studio/<room_id>): the host picks a camera (or a screen) and a microphone,
// previews them, goes live over WHIP and stops, sees the live status and the viewer
// count, copies the OBS credentials, and ends the room. The host token comes from this
// browser's storage (the lobby put it there) or is pasted in.

import { endRoom, getIngest, getRoom, joinRoom } from "./api.js";
import { publish } from "./whip.js";
import {
  $,
  clearError,
  h,
  hostTokens,
  providerOf,
  reportUncaughtErrors,
  roomIdFromPath,
  sentence,
  setStatus,
  setViewers,
  showError,
  wireCopyButtons,
  wireRevealButtons,
} from "./ui.js";

const POLL_MS = 3000;
const RETRY_MAX_MS = 10000;
const DISCONNECTED_GRACE_MS = 5000;
const SCREEN = "screen";
const NONE = "none";

const roomId = roomIdFromPath();
let token = null;
let room = null;
let ingest = null;
let ended = false;

// What is being sent: one MediaStream whose tracks follow the pickers.
const stream = new MediaStream();
let session = null; // the WHIP session, while there is one
let stopping = null; // the previous session's stop(), awaited before publishing again
let wantLive = false; // the host pressed Go live and not Stop
let connecting = false;
let attempt = 0;
let retryTimer = null;
let retryAt = 0;
let disconnectTimer = null;
let goLiveError = null; // why the last Go live failed for good, shown in the status

// ---- status ----

function render() {
  const live = session && session.pc.connectionState === "connected";
  if (ended) setStatus("ended", "This room has ended");
  else if (live) setStatus("live", "You are live");
  else if (wantLive && retryTimer) {
    const seconds = Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
    setStatus("connecting", `Not connected, trying again in ${seconds} s…`);
  } else if (wantLive) setStatus("connecting", "Connecting…");
  else if (goLiveError) setStatus("error", "Not live: going live failed");
  else if (room && room.live) setStatus("live", room.mode === "broadcast" ? "Live from OBS" : "Live from another source (OBS?)");
  else setStatus("waiting", room && room.mode === "broadcast" ? "Waiting for OBS" : "Not live");

  const usable = !ended && room && room.mode !== "broadcast";
  $("go-live").disabled = !usable || wantLive;
  $("stop").disabled = !usable || !wantLive;
  $("camera").disabled = ended;
  $("microphone").disabled = ended;
  $("codec").disabled = ended || wantLive; // chosen before going live (a new offer)
  $("end-room").disabled = ended;
}

// ---- devices ----

function mediaErrorWords(err, what) {
  const name = err && err.name;
  if (!navigator.mediaDevices) {
    return "This page cannot use a camera here: browsers allow it only over HTTPS or on localhost.";
  }
  if (name === "NotAllowedError" || name === "SecurityError") {
    return `Access to the ${what} was blocked. Allow it in the browser's site settings and pick it again.`;
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") return `No ${what} was found.`;
  if (name === "NotReadableError" || name === "AbortError") {
    return `The ${what} is busy or failed to start (another app may be using it).`;
  }
  return `Could not start the ${what}: ${(err && err.message) || err}`;
}

function currentTrack(kind) {
  return stream.getTracks().find((t) => t.kind === kind) || null;
}

// Puts `track` (or nothing) in the stream and, when live, on the WHIP sender.
async function useTrack(kind, track) {
  const old = currentTrack(kind);
  if (old === track) return;
  if (old) {
    stream.removeTrack(old);
    old.stop();
  }
  if (track) stream.addTrack(track);
  if (session) {
    const sender = session.pc.getTransceivers().find((t) => t.receiver.track.kind === kind)?.sender;
    if (sender) await sender.replaceTrack(track);
  }
  const video = currentTrack("video");
  $("preview-overlay").hidden = Boolean(video);
  $("preview").srcObject = stream;
}

async function pickVideo(value) {
  clearError();
  try {
    if (value === NONE) return await useTrack("video", null);
    if (value === SCREEN) {
      const screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      const track = screen.getVideoTracks()[0];
      // "Stop sharing" in the browser's bar: drop to no video, as the picker will say.
      track.addEventListener("ended", () => {
        if (currentTrack("video") === track) {
          $("camera").value = NONE;
          useTrack("video", null);
        }
      });
      return await useTrack("video", track);
    }
    const media = await navigator.mediaDevices.getUserMedia({
      video: { deviceId: value ? { exact: value } : undefined, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
    await useTrack("video", media.getVideoTracks()[0]);
  } catch (err) {
    showError(mediaErrorWords(err, value === SCREEN ? "screen" : "camera"));
    $("camera").value = $("camera").dataset.current || NONE; // what is still in use
  } finally {
    $("camera").dataset.current = $("camera").value;
  }
}

async function pickAudio(value) {
  clearError();
  try {
    if (value === NONE) return await useTrack("audio", null);
    const media = await navigator.mediaDevices.getUserMedia({
      audio: { deviceId: value ? { exact: value } : undefined, echoCancellation: true, noiseSuppression: true },
    });
    await useTrack("audio", media.getAudioTracks()[0]);
  } catch (err) {
    showError(mediaErrorWords(err, "microphone"));
    $("microphone").value = $("microphone").dataset.current || NONE;
  } finally {
    $("microphone").dataset.current = $("microphone").value;
  }
}

// Fills the pickers from the devices the browser lists (with names once allowed).
async function listDevices() {
  let devices = [];
  try {
    devices = await navigator.mediaDevices.enumerateDevices();
  } catch {
    // No device list: the pickers offer the screen and "none" only.
  }
  const fill = (select, kind, extra) => {
    const inputs = devices.filter((d) => d.kind === kind && d.deviceId);
    const options = inputs.map((d, i) =>
      h("option", { value: d.deviceId }, d.label || `${kind === "videoinput" ? "Camera" : "Microphone"} ${i + 1}`),
    );
    select.replaceChildren(...options, ...extra);
  };
  const videoExtra = [];
  if (navigator.mediaDevices.getDisplayMedia) videoExtra.push(h("option", { value: SCREEN }, "Share your screen"));
  videoExtra.push(h("option", { value: NONE }, "No video"));
  fill($("camera"), "videoinput", videoExtra);
  fill($("microphone"), "audioinput", [h("option", { value: NONE }, "No microphone")]);

  // Show what is in use: the running track's device, the screen, or none.
  const selectCurrent = (select, kind) => {
    const track = currentTrack(kind);
    const device = track && track.getSettings().deviceId;
    let value = NONE;
    if (track && select === $("camera") && !device) value = SCREEN;
    else if (device && [...select.options].some((o) => o.value === device)) value = device;
    else if (track && select.dataset.current) value = select.dataset.current;
    select.value = value;
    select.dataset.current = select.value;
  };
  selectCurrent($("camera"), "video");
  selectCurrent($("microphone"), "audio");
}

// Starts the default camera and microphone for the preview: one permission prompt for
// both, then each alone, so a missing camera still leaves the microphone (and back).
async function startDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError(mediaErrorWords(null, "camera"));
    return;
  }
  try {
    const media = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: { echoCancellation: true, noiseSuppression: true },
    });
    await useTrack("video", media.getVideoTracks()[0] || null);
    await useTrack("audio", media.getAudioTracks()[0] || null);
  } catch (bothErr) {
    const problems = [];
    for (const [kind, what] of [
      ["video", "camera"],
      ["audio", "microphone"],
    ]) {
      try {
        const media = await navigator.mediaDevices.getUserMedia({ [kind]: true });
        await useTrack(kind, media.getTracks()[0]);
      } catch (err) {
        problems.push(mediaErrorWords(err, what));
      }
    }
    if (problems.length) {
      const hint = navigator.mediaDevices.getDisplayMedia ? " You can still share your screen." : "";
      showError(problems.join(" ") + hint);
    }
  }
  await listDevices();
}

// ---- going live ----

function whipTarget() {
  // A local room is published through this server's /whip/<room_id> with the host
  // token, which this page always has; a Cloudflare room through its own WHIP URL.
  if (providerOf({ ...room, ingest }) === "local") {
    return { url: `/whip/${encodeURIComponent(roomId)}`, token };
  }
  return { url: ingest && ingest.whip_url, token: undefined };
}

function retryable(err) {
  return !err.status || err.status >= 500 || err.code === "bad_answer";
}

function clearTimers() {
  clearTimeout(retryTimer);
  clearTimeout(disconnectTimer);
  retryTimer = null;
  disconnectTimer = null;
}

function scheduleRetry() {
  clearTimers();
  const delay = Math.min(1000 * 2 ** attempt, RETRY_MAX_MS);
  attempt += 1;
  retryAt = Date.now() + delay;
  retryTimer = setTimeout(() => {
    retryTimer = null;
    connect();
  }, delay);
  render();
}

function dropSession() {
  if (session) stopping = session.stop();
  session = null;
}

function onConnectionState(s) {
  if (s !== session) return;
  const state = s.pc.connectionState;
  if (state === "connected") {
    attempt = 0;
    clearTimeout(disconnectTimer);
    disconnectTimer = null;
    clearError();
  } else if (state === "disconnected") {
    // Often a blip that heals by itself; give it a few seconds.
    if (!disconnectTimer) {
      disconnectTimer = setTimeout(() => {
        disconnectTimer = null;
        if (s === session && s.pc.connectionState !== "connected") {
          dropSession();
          scheduleRetry();
        }
      }, DISCONNECTED_GRACE_MS);
    }
  } else if (state === "failed" || state === "closed") {
    dropSession();
    if (wantLive) {
      showError("The connection to the media server was lost; reconnecting.");
      scheduleRetry();
    }
  }
  render();
}

async function connect() {
  if (!wantLive || connecting || ended) return;
  if (!stream.getTracks().some((t) => t.readyState === "live")) {
    wantLive = false;
    goLiveError = "nothing to send";
    showError("Pick a camera, a screen or a microphone first: there is nothing to send.");
    render();
    return;
  }
  const target = whipTarget();
  if (!target.url) {
    wantLive = false;
    goLiveError = "no whip url";
    showError("This room has no WHIP URL to publish to from a browser. Use OBS with the details on this page.");
    render();
    return;
  }
  connecting = true;
  render();
  try {
    // The server allows one publisher per room: let the previous session go first.
    if (stopping) await stopping;
    const s = await publish(target.url, stream, { token: target.token, videoCodec: $("codec").value });
    if (!wantLive || ended) {
      s.stop();
      return;
    }
    session = s;
    s.pc.addEventListener("connectionstatechange", () => onConnectionState(s));
    onConnectionState(s);
  } catch (err) {
    if (wantLive && retryable(err)) {
      showError(`${sentence(err.message)} Trying again.`);
      scheduleRetry();
    } else {
      wantLive = false;
      goLiveError = err.message;
      showError(err);
    }
  } finally {
    connecting = false;
    render();
  }
}

function goLive() {
  clearError();
  goLiveError = null;
  wantLive = true;
  attempt = 0;
  connect();
}

function stop() {
  wantLive = false;
  clearTimers();
  dropSession();
  if (room) room.live = false; // until the next poll says otherwise (e.g. OBS is live)
  render();
}

// ---- the room ----

function showEnded() {
  ended = true;
  wantLive = false;
  clearTimers();
  dropSession();
  for (const track of stream.getTracks()) track.stop();
  $("preview").srcObject = null;
  for (const id of ["publisher", "broadcast-note", "token-form", "obs-panel", "end-panel", "share"]) $(id).hidden = true;
  $("ended-note").hidden = false;
  hostTokens.remove(roomId);
  render();
}

function applyRoom(view) {
  room = { ...room, ...view };
  $("room-title").textContent = room.title;
  document.title = `${room.title} · Studio · liveroom`;
  setViewers(room.viewers ?? 0);
  const mode = $("room-mode");
  mode.textContent = room.mode === "broadcast" ? "BROADCAST (OBS → HLS)" : "WEBRTC";
  mode.hidden = false;
  if (room.status === "ended" && !ended) showEnded();
  render();
}

async function poll() {
  if (ended) return;
  try {
    applyRoom(await joinRoom(roomId));
  } catch (err) {
    if (err.status === 410) {
      showEnded();
      return;
    }
    // Otherwise offline for a moment or a server hiccup: keep polling, the status
    // stays as it was.
  }
  setTimeout(poll, document.hidden ? POLL_MS * 3 : POLL_MS);
}

function fill(id, value) {
  $(id).value = value || "";
}

function renderObsPanel() {
  const provider = providerOf({ ...room, ingest });
  const whip = room.mode !== "broadcast" && (provider === "local" || (ingest && ingest.whip_url));
  $("obs-whip").hidden = !whip;
  if (whip) {
    if (provider === "local") {
      fill("obs-server", `${location.origin}/whip/${encodeURIComponent(roomId)}`);
      fill("obs-token", token);
    } else {
      fill("obs-server", ingest.whip_url);
    }
    $("obs-token-field").hidden = provider !== "local";
    $("obs-no-token").hidden = provider === "local";
  }
  const rtmps = ingest && ingest.rtmps;
  $("obs-rtmps").hidden = !rtmps;
  if (rtmps) {
    fill("rtmps-url", rtmps.url);
    fill("rtmps-key", rtmps.stream_key);
  }
  const srt = ingest && ingest.srt;
  $("obs-srt").hidden = !srt;
  if (srt) {
    fill("srt-url", srt.url);
    fill("srt-stream-id", srt.stream_id);
    fill("srt-passphrase", srt.passphrase);
    const query = new URLSearchParams();
    if (srt.stream_id) query.set("streamid", srt.stream_id);
    if (srt.passphrase) query.set("passphrase", srt.passphrase);
    fill("srt-obs-url", query.toString() ? `${srt.url}?${query}` : srt.url);
  }
  $("obs-none").hidden = whip || rtmps || srt;
  $("obs-panel").hidden = false;
  wireCopyButtons();
  wireRevealButtons();
}

async function askForToken(message) {
  $("token-form").hidden = false;
  if (message) showError(message);
  $("host-token").focus();
  return new Promise((resolve) => {
    $("token-form").addEventListener("submit", function onSubmit(event) {
      event.preventDefault();
      const value = $("host-token").value.trim();
      if (!value) return;
      $("token-form").removeEventListener("submit", onSubmit);
      $("token-form").hidden = true;
      clearError();
      resolve(value);
    });
  });
}

// The token from the lobby's hand-over in the URL fragment (only when storage failed),
// else from storage. The fragment is removed from the address bar straight away.
function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const handed = fragment.get("token");
  if (handed) {
    history.replaceState(null, "", location.pathname + location.search);
    hostTokens.set(roomId, handed);
    return handed;
  }
  return hostTokens.get(roomId);
}

async function start() {
  reportUncaughtErrors();
  const share = `${location.origin}/watch/${encodeURIComponent(roomId)}`;
  fill("share-url", share);
  $("watch-link").href = share;
  wireCopyButtons();
  $("go-live").addEventListener("click", goLive);
  $("stop").addEventListener("click", stop);
  $("end-room").addEventListener("click", () => {
    $("end-confirm").hidden = false;
    $("end-room-confirm").focus();
  });
  $("end-room-cancel").addEventListener("click", () => ($("end-confirm").hidden = true));
  $("end-room-confirm").addEventListener("click", onEnd);
  $("camera").addEventListener("change", (e) => pickVideo(e.target.value));
  $("microphone").addEventListener("change", (e) => pickAudio(e.target.value));
  window.addEventListener("pagehide", () => session && session.stop());
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", () => listDevices());
  }

  if (!roomId) {
    setStatus("error", "No room");
    showError("This address does not name a room. Open a room from the lobby.");
    return;
  }
  try {
    applyRoom(await getRoom(roomId));
  } catch (err) {
    setStatus("error", "No room");
    $("room-title").textContent = "Room not found";
    showError(err.status === 404 ? `There is no room with id ${roomId}.` : err);
    return;
  }
  if (ended) return;

  token = takeToken();
  while (!ingest) {
    if (!token) token = await askForToken();
    try {
      ingest = await getIngest(roomId, token);
      hostTokens.set(roomId, token);
    } catch (err) {
      if (err.status === 401 || err.status === 403) {
        hostTokens.remove(roomId);
        token = null;
        showError(`${sentence(err.message)} Paste the right host token.`);
      } else if (err.status === 410) {
        showEnded();
        return;
      } else {
        showError(err);
        setStatus("error", "Cannot load the room");
        return;
      }
    }
  }

  $("end-panel").hidden = false;
  renderObsPanel();
  if (room.mode === "broadcast") {
    $("broadcast-note").hidden = false;
  } else {
    $("publisher").hidden = false;
    startDevices();
  }
  render();
  setTimeout(poll, POLL_MS);
  setInterval(() => retryTimer && render(), 1000); // the retry countdown
}

async function onEnd() {
  const button = $("end-room-confirm");
  button.disabled = true;
  clearError();
  try {
    // Stop our own broadcast first, so its session ends by our DELETE, not by the end.
    wantLive = false;
    clearTimers();
    dropSession();
    if (stopping) await stopping;
    await endRoom(roomId, token);
    showEnded();
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

start();
