// The studio (/studio/<room_id>): the host picks a camera (or a screen) and a microphone,
// previews them (with a microphone level meter), goes live over WHIP and stops, sees the
// live status, the viewer count and the broadcast's health (time on air, resolution, frame
// rate, bitrate, packet loss, a warning in plain words when the connection is poor), copies
// the OBS credentials, and ends the room. The host token comes from this browser's storage
// (the lobby put it there) or is pasted in.
//
// Nobody gets stuck: a blocked camera shows "Try again" (asks again, no reload); Go live is
// off while there is nothing to send; leaving while live asks first; a reload while live
// offers "Resume" (this tab remembers in sessionStorage that it was live in this room).
//
// Links: the viewers' link is the server's `watch_url` (Copy, Share where the browser can, a QR
// code; a plain warning when it points at this computer only). The host's own studio link (the
// server's studio_url, with the host token in the fragment) is offered once per room in a "save
// your studio link" box: opened on any device it brings the host back into this studio. The
// room's status (live, viewers, ended and why) is pushed by the server (events.js).
//
// A dropped network path (Wi-Fi to mobile data, a NAT timing out) is first mended on the same
// WHIP session by ICE restarts (whip.js Session.recover(): for up to ~8 s); only then, or when
// the server cannot restart ICE, does the studio publish again (a new POST, with backoff).

import { endRoom, getIngest, getQrSvg, getRoom, joinRoom } from "./api.js";
import { followRoom } from "./events.js";
import { iceTransportPolicyFrom, publish, selectedCandidatePair } from "./whip.js";
import { formatNumber, setPlainText, setText, t } from "./i18n.js";
import { MicMeter, WarningGate, formatElapsed, problemOf, sampleOutbound } from "./health.js";
import {
  $,
  clearError,
  endedReasonKey,
  errorText,
  h,
  hostTokens,
  isLoopbackUrl,
  providerOf,
  reportUncaughtErrors,
  roomIdFromPath,
  setStatus,
  setupLanguage,
  setViewers,
  showError,
  wireCopyButtons,
  wireRevealButtons,
} from "./ui.js";

const RETRY_MAX_MS = 10000;
const DISCONNECTED_GRACE_MS = 5000;
const STATS_MS = 1000;
const SCREEN = "screen";
const NONE = "none";
// sessionStorage key: this tab was live in this room (what it sent), so a reload offers Resume.
const LIVE_MARK = "liveroom.live.";
const LIVE_MARK_MAX_AGE_MS = 12 * 3600 * 1000;
// After a reload (or Resume) the tab's previous WHIP session may still hold the room for a
// few seconds (its DELETE is in flight, or the server waits for it to go quiet): a 409
// "someone is already live" is then retried for this long instead of given up at once.
const TAKEOVER_WINDOW_MS = 20000;
// localStorage key: the host closed the "save your studio link" box of this room.
const STUDIO_LINK_SAVED = "liveroom.studioLinkSaved.";

const roomId = roomIdFromPath();
const pageLoadedAt = Date.now();
let token = null;
let room = null;
let ingest = null;
let ended = false;
let feed = null; // the room's pushed status (events.js)
let studioQrFor = null; // the studio link its QR code shows (once fetched)
let studioLinkDismissed = false; // when storage cannot remember it

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
let recovering = null; // the session an ICE restart is bringing back (Session.recover())
let iceRestartUnsupported = false; // the server answered an ICE restart with 405/422: not again
// "?ice=relay" in the address: media through TURN only (tests).
const iceTransportPolicy = iceTransportPolicyFrom(location.search);
let goLiveError = null; // why the last Go live failed for good, shown in the status
let takeoverUntil = pageLoadedAt + TAKEOVER_WINDOW_MS;

let devicesReady = null; // the running startDevices()
let mediaProblems = []; // why the camera/microphone did not start: [{key, params, blocked}]
let resumable = null; // the live mark found at load, until resumed or dismissed

// Health while live.
let onAirSince = 0; // first connection of this Go live (kept across reconnects)
let connectedAt = 0; // this session's connection (for the ramp-up)
let lastSample = null;
let warning = null;
const warningGate = new WarningGate();
const micMeter = new MicMeter(showMicLevel);

// What the end-to-end tests read (window.liveroomDebug): ICE restarts and the path in use.
const debug = {
  iceTransportPolicy: iceTransportPolicy || "all",
  iceServers: [], // the URLs of the current session's ICE servers (no credentials)
  iceRestarts: 0, // restarts the server accepted
  iceRestartAttempts: 0,
  iceRestartFallbacks: 0, // times a new session was published because a restart did not bring the path back
  candidatePair: null, // {local, remote, protocol, relayProtocol} of the pair in use, while live
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

// ---- status ----

function isLive() {
  return Boolean(session && session.pc.connectionState === "connected");
}

function hasSomethingToSend() {
  return stream.getTracks().some((track) => track.readyState === "live");
}

function render() {
  const live = isLive();
  if (ended) setStatus("ended", "studio.status_ended");
  else if (live) setStatus("live", "studio.status_live");
  else if (wantLive && session && recovering === session) setStatus("connecting", "studio.status_reconnecting");
  else if (wantLive && retryTimer) {
    const seconds = Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
    setStatus("connecting", "studio.status_retry_in", { seconds });
  } else if (wantLive) setStatus("connecting", "studio.status_connecting");
  else if (goLiveError) setStatus("error", "studio.status_failed");
  else if (resumable) setStatus("waiting", "studio.status_resumable");
  else if (room && room.live) setStatus("live", room.mode === "broadcast" ? "studio.status_live_obs" : "studio.status_live_other");
  else if (room) setStatus("waiting", room.mode === "broadcast" ? "studio.status_waiting_obs" : "studio.status_not_live");

  const usable = !ended && room && room.mode !== "broadcast";
  const sendable = hasSomethingToSend();
  $("go-live").disabled = !usable || wantLive || !sendable;
  $("go-live-hint").hidden = !usable || wantLive || sendable;
  $("stop").disabled = !usable || !wantLive;
  $("resume").disabled = wantLive;
  $("camera").disabled = ended;
  $("microphone").disabled = ended;
  $("codec").disabled = ended || wantLive; // chosen before going live (a new offer)
  $("end-room").disabled = ended;

  $("health").hidden = ended || !wantLive;
  const onAir = $("on-air");
  onAir.hidden = !live || !onAirSince;
  if (!onAir.hidden) onAir.textContent = formatElapsed(Date.now() - onAirSince);
}

// ---- devices ----

// Why a device did not start, as a catalogue entry; `what` is the device's catalogue key.
function mediaProblem(err, what) {
  const name = err && err.name;
  const params = { what: () => t(what) };
  if (!navigator.mediaDevices) return { key: "studio.media_insecure", what };
  if (name === "NotAllowedError" || name === "SecurityError") {
    return { key: "studio.media_blocked", params, what, blocked: true };
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") return { key: "studio.media_not_found", params, what };
  if (name === "NotReadableError" || name === "AbortError") return { key: "studio.media_busy", params, what };
  return { key: "studio.media_failed", params: { ...params, detail: (err && err.message) || String(err) }, what };
}

function renderMediaProblems() {
  const panel = $("media-blocked");
  panel.hidden = mediaProblems.length === 0 || ended;
  if (panel.hidden) return;
  const lines = mediaProblems.map((p) => t(p.key, p.params));
  if (navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia && !currentTrack("video")) {
    lines.push(t("studio.media_screen_hint"));
  }
  $("media-blocked-text").replaceChildren(...lines.map((line) => h("span", { class: "line" }, line)));
  $("media-blocked-help").hidden = !mediaProblems.some((p) => p.blocked);
}

function currentTrack(kind) {
  return stream.getTracks().find((track) => track.kind === kind) || null;
}

// Puts `track` (or nothing) in the stream and, when live, on the WHIP sender.
async function useTrack(kind, track) {
  const old = currentTrack(kind);
  if (old === track) return;
  if (old) {
    stream.removeTrack(old);
    old.stop();
  }
  if (track) {
    stream.addTrack(track);
    // A device unplugged or a permission withdrawn: drop it, and say there is nothing to send.
    track.addEventListener("ended", () => {
      if (currentTrack(kind) !== track) return;
      const picker = kind === "video" ? $("camera") : $("microphone");
      picker.value = NONE;
      picker.dataset.current = NONE;
      useTrack(kind, null);
    });
  }
  if (session) {
    const sender = session.pc.getTransceivers().find((tr) => tr.receiver.track.kind === kind)?.sender;
    if (sender) await sender.replaceTrack(track);
  }
  const video = currentTrack("video");
  $("preview-overlay").hidden = Boolean(video);
  $("preview").srcObject = stream;
  if (kind === "audio") {
    micMeter.attach(track);
    $("mic-meter-row").hidden = !track;
  }
  render();
}

async function pickVideo(value) {
  clearError();
  try {
    if (value === NONE) return await useTrack("video", null);
    if (value === SCREEN) {
      const screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      return await useTrack("video", screen.getVideoTracks()[0]);
    }
    const media = await navigator.mediaDevices.getUserMedia({
      video: { deviceId: value ? { exact: value } : undefined, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
    await useTrack("video", media.getVideoTracks()[0]);
    mediaProblems = mediaProblems.filter((p) => p.what !== "studio.what_camera");
    renderMediaProblems();
  } catch (err) {
    // Closing the screen picker without choosing is not an error worth a message.
    if (!(value === SCREEN && err && err.name === "NotAllowedError")) {
      const problem = mediaProblem(err, value === SCREEN ? "studio.what_screen" : "studio.what_camera");
      showError({ key: problem.key, params: problem.params });
    }
    $("camera").value = $("camera").dataset.current || NONE; // what is still in use
  } finally {
    $("camera").dataset.current = $("camera").value;
    render();
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
    mediaProblems = mediaProblems.filter((p) => p.what !== "studio.what_microphone");
    renderMediaProblems();
  } catch (err) {
    const problem = mediaProblem(err, "studio.what_microphone");
    showError({ key: problem.key, params: problem.params });
    $("microphone").value = $("microphone").dataset.current || NONE;
  } finally {
    $("microphone").dataset.current = $("microphone").value;
    render();
  }
}

let lastDevices = [];

// Fills the pickers from the devices the browser lists (with names once allowed).
async function listDevices() {
  try {
    lastDevices = await navigator.mediaDevices.enumerateDevices();
  } catch {
    lastDevices = []; // no device list: the pickers offer the screen and "none" only
  }
  fillPickers();
}

function fillPickers() {
  const fill = (select, kind, labelKey, extra) => {
    const inputs = lastDevices.filter((d) => d.kind === kind && d.deviceId);
    const options = inputs.map((d, i) => h("option", { value: d.deviceId }, d.label || t(labelKey, { n: i + 1 })));
    select.replaceChildren(...options, ...extra);
  };
  const videoExtra = [];
  if (navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia) {
    videoExtra.push(h("option", { value: SCREEN }, t("studio.device_screen")));
  }
  videoExtra.push(h("option", { value: NONE }, t("studio.device_no_video")));
  fill($("camera"), "videoinput", "studio.device_camera_n", videoExtra);
  fill($("microphone"), "audioinput", "studio.device_mic_n", [h("option", { value: NONE }, t("studio.device_no_mic"))]);

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
// both, then each alone, so a missing camera still leaves the microphone (and back). What
// failed shows in #media-blocked with a Try again button that runs this again.
function startDevices() {
  devicesReady = (async () => {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      mediaProblems = [{ key: "studio.media_insecure" }];
      renderMediaProblems();
      render();
      return;
    }
    $("retry-media").disabled = true;
    const problems = [];
    try {
      const media = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: { echoCancellation: true, noiseSuppression: true },
      });
      await useTrack("video", media.getVideoTracks()[0] || null);
      await useTrack("audio", media.getAudioTracks()[0] || null);
    } catch {
      for (const [kind, what] of [
        ["video", "studio.what_camera"],
        ["audio", "studio.what_microphone"],
      ]) {
        if (currentTrack(kind)) continue; // still running from before
        try {
          const media = await navigator.mediaDevices.getUserMedia({ [kind]: true });
          await useTrack(kind, media.getTracks()[0]);
        } catch (err) {
          problems.push(mediaProblem(err, what));
        }
      }
    }
    mediaProblems = problems;
    renderMediaProblems();
    await listDevices();
    $("retry-media").disabled = false;
    render();
  })();
  return devicesReady;
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
  if (err.code === "publisher_exists" && Date.now() < takeoverUntil) return true; // our own previous session
  return !err.status || err.status >= 500 || err.status === 429 || err.code === "bad_answer";
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
  recovering = null;
  connectedAt = 0;
  lastSample = null;
  debug.candidatePair = null;
  debug.candidateType = null;
}

// Whether a dropped connection of `s` is worth ICE restarts rather than a new session.
function canRecover(s) {
  return wantLive && !ended && Boolean(s.url) && !s.restartUnsupported && !iceRestartUnsupported;
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
      onConnectionState(s); // as before: disconnected waits a little, failed starts over
      return;
    }
    debug.iceRestartFallbacks += 1;
    const failed = s.pc.connectionState === "failed";
    dropSession();
    if (wantLive) {
      if (failed) showError({ key: "studio.lost_reconnecting" });
      scheduleRetry();
    }
    render();
  });
}

function onConnectionState(s) {
  if (s !== session) return;
  const state = s.pc.connectionState;
  if (state === "connected") {
    attempt = 0;
    clearTimeout(disconnectTimer);
    disconnectTimer = null;
    clearError();
    if (!connectedAt) connectedAt = Date.now();
    if (!onAirSince) onAirSince = connectedAt;
  } else if ((state === "disconnected" || state === "failed") && (recovering === s || canRecover(s))) {
    // The path dropped: restart ICE on this session before starting over.
    recoverConnection(s);
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
      showError({ key: "studio.lost_reconnecting" });
      scheduleRetry();
    }
  }
  render();
}

async function connect() {
  if (!wantLive || connecting || ended) return;
  if (!hasSomethingToSend()) {
    wantLive = false;
    goLiveError = "nothing to send";
    showError({ key: "studio.nothing_to_send" });
    render();
    return;
  }
  const target = whipTarget();
  if (!target.url) {
    wantLive = false;
    goLiveError = "no whip url";
    showError({ key: "studio.no_whip" });
    render();
    return;
  }
  connecting = true;
  render();
  try {
    // The server allows one publisher per room: let the previous session go first.
    if (stopping) await stopping;
    const s = await publish(target.url, stream, { token: target.token, videoCodec: $("codec").value, iceTransportPolicy });
    if (!wantLive || ended) {
      s.stop();
      return;
    }
    session = s;
    debug.iceServers = (s.iceServers || []).map((server) => server.urls);
    s.pc.addEventListener("connectionstatechange", () => onConnectionState(s));
    onConnectionState(s);
  } catch (err) {
    if (wantLive && retryable(err)) {
      showError({ key: "studio.error_retrying", params: { reason: () => errorText(err) }, code: err.code });
      scheduleRetry();
    } else {
      wantLive = false;
      goLiveError = err.message;
      forgetLive();
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
  dismissResume();
  wantLive = true;
  attempt = 0;
  onAirSince = 0;
  warningGate.reset();
  warning = null;
  rememberLive();
  renderHealth();
  connect();
}

function stop() {
  wantLive = false;
  forgetLive();
  clearTimers();
  dropSession();
  onAirSince = 0;
  if (room) room.live = false; // until the server says otherwise (e.g. OBS is live)
  render();
}

// ---- resume after a reload ----

function rememberLive() {
  try {
    const mark = {
      camera: $("camera").value,
      microphone: $("microphone").value,
      codec: $("codec").value,
      at: Date.now(),
    };
    sessionStorage.setItem(LIVE_MARK + roomId, JSON.stringify(mark));
  } catch {
    // No storage: a reload will not offer Resume.
  }
}

function forgetLive() {
  try {
    sessionStorage.removeItem(LIVE_MARK + roomId);
  } catch {
    // Nothing stored.
  }
}

function liveMark() {
  try {
    const mark = JSON.parse(sessionStorage.getItem(LIVE_MARK + roomId) || "null");
    return mark && Date.now() - mark.at < LIVE_MARK_MAX_AGE_MS ? mark : null;
  } catch {
    return null;
  }
}

function dismissResume() {
  resumable = null;
  $("resume-panel").hidden = true;
}

function hasOption(select, value) {
  return [...select.options].some((o) => o.value === value);
}

// "You were live — Resume": the devices as they were (asked for again), then Go live.
async function resume() {
  const mark = resumable || liveMark() || {};
  dismissResume();
  takeoverUntil = Date.now() + TAKEOVER_WINDOW_MS;
  $("resume").disabled = true;
  if (devicesReady) await devicesReady;
  if (typeof mark.codec === "string" && hasOption($("codec"), mark.codec)) $("codec").value = mark.codec;
  if (mark.camera === SCREEN) await pickVideo(SCREEN); // this click lets the screen picker open
  else if (mark.camera === NONE) await pickVideo(NONE);
  else if (mark.camera && mark.camera !== $("camera").value && hasOption($("camera"), mark.camera)) {
    await pickVideo(mark.camera);
  }
  if (mark.microphone === NONE) await pickAudio(NONE);
  else if (mark.microphone && mark.microphone !== $("microphone").value && hasOption($("microphone"), mark.microphone)) {
    await pickAudio(mark.microphone);
  }
  if (!hasSomethingToSend()) await startDevices();
  if (!hasSomethingToSend()) {
    render();
    return; // #media-blocked says why; Go live stays off
  }
  goLive();
}

// ---- health ----

function showMicLevel(level) {
  const meter = $("mic-level");
  const percent = Math.round(level * 100);
  meter.dataset.level = level.toFixed(2);
  meter.setAttribute("aria-valuenow", String(percent));
  meter.style.setProperty("--level", String(level));
}

function formatBitrate(bps) {
  if (bps >= 1_000_000) return t("studio.health_mbps", { n: formatNumber(bps / 1_000_000, { maximumFractionDigits: 1 }) });
  return t("studio.health_kbps", { n: formatNumber(Math.round(bps / 1000)) });
}

function renderHealth() {
  const sample = lastSample;
  const dash = "—";
  $("health-elapsed").textContent = onAirSince ? formatElapsed(Date.now() - onAirSince) : formatElapsed(0);
  $("health-resolution").textContent = sample && sample.width ? `${sample.width}×${sample.height}` : dash;
  $("health-fps").textContent =
    sample && sample.fps !== null ? t("studio.health_fps_value", { n: formatNumber(Math.round(sample.fps)) }) : dash;
  $("health-bitrate").textContent = sample && sample.bitrate !== null ? formatBitrate(sample.bitrate) : dash;
  $("health-loss").textContent =
    sample && sample.lossPct !== null
      ? t("studio.health_loss_value", { n: formatNumber(sample.lossPct, { maximumFractionDigits: 1 }) })
      : dash;
  const box = $("health-warning");
  box.hidden = !warning;
  box.dataset.level = warning ? "warn" : "ok";
  box.dataset.problem = warning || "";
  if (warning) {
    const loss = sample && sample.lossPct !== null ? formatNumber(sample.lossPct, { maximumFractionDigits: 0 }) : "?";
    setText(box, `studio.health_warn_${warning}`, { loss });
  }
}

async function sampleHealth() {
  if (!session || !isLive()) {
    if (wantLive) renderHealth();
    return;
  }
  const s = session;
  try {
    const report = await s.pc.getStats();
    if (s !== session) return;
    lastSample = sampleOutbound(report, lastSample);
    debug.candidatePair = selectedCandidatePair(report);
    debug.candidateType = debug.candidatePair && debug.candidatePair.local;
    warning = warningGate.push(problemOf(lastSample, Date.now() - connectedAt));
  } catch {
    // Closed in between: the next tick starts over.
  }
  renderHealth();
}

// ---- the room ----

function showEnded() {
  ended = true;
  if (feed) feed.close();
  wantLive = false;
  forgetLive();
  dismissResume();
  clearTimers();
  dropSession();
  micMeter.detach();
  for (const track of stream.getTracks()) track.stop();
  $("preview").srcObject = null;
  for (const id of ["publisher", "broadcast-note", "token-form", "obs-panel", "end-panel", "share", "media-blocked",
    "studio-link-box"]) {
    $(id).hidden = true;
  }
  $("ended-note").hidden = false;
  hostTokens.remove(roomId);
  try {
    localStorage.removeItem(STUDIO_LINK_SAVED + roomId);
  } catch {
    // Nothing stored.
  }
  renderEndedReason();
  render();
}

// Why the room ended, after "This room has ended" (the host ended it, or it ended by itself).
function renderEndedReason() {
  const key = room && endedReasonKey(room.ended_reason);
  if (key) setText($("ended-reason"), key, { host: () => (room ? room.host : "") });
  else setPlainText($("ended-reason"), "");
}

function renderRoomTexts() {
  if (!room) return;
  setPlainText($("room-title"), room.title);
  setText(document.querySelector("title"), "studio.doc_title_room", { title: room.title });
  setText($("room-mode"), room.mode === "broadcast" ? "studio.mode_broadcast" : "studio.mode_webrtc");
  if (ended) renderEndedReason();
}

function applyRoom(view) {
  room = { ...room, ...view };
  renderRoomTexts();
  setViewers(room.viewers ?? 0);
  $("room-mode").hidden = false;
  if (room.watch_url) renderWatchLink(room.watch_url);
  if (room.status === "ended" && !ended) showEnded();
  render();
}

// One request for the room: what the page does when the pushed status cannot be opened
// (events.js asks again every few seconds).
async function refreshRoom() {
  if (ended) return;
  try {
    applyRoom(await joinRoom(roomId));
  } catch (err) {
    if (err.status === 410) {
      showEnded();
      // The ended room's view says why it ended.
      getRoom(roomId).then(applyRoom, () => {});
    }
    // Otherwise offline for a moment or a server hiccup: the status stays as it was.
  }
}

function fill(id, value) {
  $(id).value = value || "";
}

// The viewers' link: this page's origin + /watch/<room_id>, or the room's `watch_url` once
// the server sends one (its public address). The one place that fills #share-url and
// #watch-link, the QR code, the Share button and the warning for a link that works on this
// computer only.
export function renderWatchLink(url) {
  fill("share-url", url);
  $("watch-link").href = url;
  $("share-native").hidden = typeof navigator.share !== "function";
  const local = isLoopbackUrl(url);
  const warning = $("watch-link-local");
  warning.hidden = !local;
  if (local) {
    let host = url;
    try {
      host = new URL(url).host;
    } catch {
      // the link as it is
    }
    setText(warning, "studio.watch_link_local", { host });
  }
  // The QR code is the server's picture of its own watch_url: shown once the server sent that
  // link, and not for a link no phone can open.
  const fromServer = Boolean(room && room.watch_url === url);
  $("watch-qr-figure").hidden = local || !fromServer;
  if (fromServer && !local && $("watch-qr").dataset.link !== url) {
    $("watch-qr").dataset.link = url;
    $("watch-qr").src = `/api/livestream/rooms/${encodeURIComponent(roomId)}/qr.svg`;
  }
  renderStudioLink();
}

async function shareWatchLink() {
  const url = $("share-url").value;
  if (!url || typeof navigator.share !== "function") return;
  try {
    await navigator.share({ title: room ? room.title : document.title, url });
  } catch (err) {
    // Closing the share sheet is not an error; anything else: Copy is next to it.
    if (err && err.name !== "AbortError") showError({ key: "studio.share_failed" });
  }
}

// ---- the host's own link ----

// The studio link the server made at create (studio_url): the watch link's address with
// /studio/<room_id> and the host token in the fragment (never sent to a server, and removed
// from the address bar on arrival).
function studioLink() {
  const match = room && room.watch_url && room.watch_url.match(/^(.*)\/watch\/[^/?#]+$/);
  const base = match ? match[1] : location.origin;
  return `${base}/studio/${encodeURIComponent(roomId)}#token=${encodeURIComponent(token)}`;
}

function studioLinkSaved() {
  try {
    return studioLinkDismissed || localStorage.getItem(STUDIO_LINK_SAVED + roomId) === "1";
  } catch {
    return studioLinkDismissed;
  }
}

// "Save your studio link": shown to the host (token checked) until she closes it, per room.
function renderStudioLink() {
  const box = $("studio-link-box");
  const show = Boolean(token && ingest && !ended && !studioLinkSaved());
  box.hidden = !show;
  if (!show) return;
  const link = studioLink();
  if ($("studio-url").value !== link) fill("studio-url", link);
  if (studioQrFor && studioQrFor !== link) {
    studioQrFor = null;
    $("studio-qr").hidden = true;
    if ($("studio-qr-details").open) loadStudioQr();
  }
}

// The studio link as a QR code (fetched with the host token), once the host opens it: a phone
// scans it to become the studio. Kept folded, so a shared screen does not show it.
async function loadStudioQr() {
  const link = studioLink();
  if (studioQrFor === link || !token) return;
  try {
    const svg = await getQrSvg(roomId, { link: "studio", token });
    $("studio-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
    $("studio-qr").hidden = false;
    studioQrFor = link;
  } catch (err) {
    showError(err);
  }
}

function dismissStudioLink() {
  studioLinkDismissed = true;
  try {
    localStorage.setItem(STUDIO_LINK_SAVED + roomId, "1");
  } catch {
    // Remembered for this page only.
  }
  renderStudioLink();
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

async function askForToken() {
  $("token-form").hidden = false;
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

// The token from the studio link (studio_url: #token=<host token>, from the lobby after create
// or opened on another device), else from storage. The fragment is removed from the address bar
// at once, before anything else happens (history, screenshots, a shared screen); the token is
// stored once the server has accepted it.
function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const handed = fragment.get("token");
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  return handed || hostTokens.get(roomId);
}

function rerender() {
  renderRoomTexts();
  if (lastDevices.length || !$("publisher").hidden) fillPickers();
  renderMediaProblems();
  renderHealth();
  render();
}

async function start() {
  const handedToken = takeToken();
  setupLanguage(rerender);
  reportUncaughtErrors();
  renderWatchLink(`${location.origin}/watch/${encodeURIComponent(roomId)}`);
  wireCopyButtons();
  wireRevealButtons();
  $("share-native").addEventListener("click", shareWatchLink);
  $("studio-link-dismiss").addEventListener("click", dismissStudioLink);
  $("studio-qr-details").addEventListener("toggle", () => {
    if ($("studio-qr-details").open) loadStudioQr();
  });
  $("go-live").addEventListener("click", goLive);
  $("stop").addEventListener("click", stop);
  $("resume").addEventListener("click", resume);
  $("resume-dismiss").addEventListener("click", () => {
    dismissResume();
    forgetLive();
    render();
  });
  $("retry-media").addEventListener("click", () => {
    clearError();
    startDevices();
  });
  $("end-room").addEventListener("click", () => {
    $("end-confirm").hidden = false;
    $("end-room-confirm").focus();
  });
  $("end-room-cancel").addEventListener("click", () => ($("end-confirm").hidden = true));
  $("end-room-confirm").addEventListener("click", onEnd);
  $("camera").addEventListener("change", (e) => pickVideo(e.target.value));
  $("microphone").addEventListener("change", (e) => pickAudio(e.target.value));
  // Leaving or reloading while live asks first (the browser words the question).
  window.addEventListener("beforeunload", (event) => {
    if (!wantLive || ended) return;
    event.preventDefault();
    event.returnValue = "";
  });
  window.addEventListener("pagehide", () => session && session.stop());
  window.addEventListener("online", () => {
    // Back online: mend the path now (or publish again now) rather than at the end of a wait.
    if (!wantLive || ended) return;
    if (session && ["disconnected", "failed"].includes(session.pc.connectionState)) onConnectionState(session);
    else if (!session && retryTimer && !connecting) {
      attempt = 0;
      clearTimers();
      connect();
    }
  });
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", () => listDevices());
  }

  if (!roomId) {
    setStatus("error", "studio.status_no_room");
    showError({ key: "studio.no_room_in_path" });
    return;
  }
  try {
    applyRoom(await getRoom(roomId));
  } catch (err) {
    setStatus("error", "studio.status_no_room");
    setText($("room-title"), "studio.room_not_found");
    const missing = err.status === 404 || (err.status === 400 && err.code === "invalid_field");
    showError(missing ? { key: "studio.no_such_room", params: { id: roomId }, code: err.code } : err);
    return;
  }
  if (ended) return;

  token = handedToken;
  while (!ingest) {
    if (!token) token = await askForToken();
    try {
      ingest = await getIngest(roomId, token);
      hostTokens.set(roomId, token);
    } catch (err) {
      if (err.status === 401 || err.status === 403) {
        hostTokens.remove(roomId);
        token = null;
        showError({ key: "studio.wrong_token", params: { reason: () => errorText(err) }, code: err.code });
      } else if (err.status === 410) {
        showEnded();
        return;
      } else {
        showError(err);
        setStatus("error", "studio.status_cannot_load");
        return;
      }
    }
  }

  $("end-panel").hidden = false;
  renderObsPanel();
  if (room.mode === "broadcast") {
    $("broadcast-note").hidden = false;
    forgetLive();
  } else {
    $("publisher").hidden = false;
    resumable = liveMark();
    $("resume-panel").hidden = !resumable;
    startDevices();
  }
  renderStudioLink();
  render();
  feed = followRoom(roomId, { onView: (view) => applyRoom(view), refresh: refreshRoom });
  setInterval(() => {
    if (retryTimer || isLive()) render(); // the retry countdown, the time on air
  }, 1000);
  setInterval(sampleHealth, STATS_MS);
}

async function onEnd() {
  const button = $("end-room-confirm");
  button.disabled = true;
  clearError();
  try {
    // Stop our own broadcast first, so its session ends by our DELETE, not by the end.
    wantLive = false;
    forgetLive();
    clearTimers();
    dropSession();
    if (stopping) await stopping;
    await endRoom(roomId, token);
    if (room) room.ended_reason = "host";
    showEnded();
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

start();
