// The studio's broadcast health: what the browser sends (from RTCPeerConnection.getStats),
// whether the connection is poor enough to tell the host in plain words, and the microphone
// level. The stats functions are pure (plain objects in, plain objects out) so they can be
// tested without a browser (tests/e2e/web_health_units.test.mjs).
//
// What counts as poor, and why:
// - loss: the server's receiver reports say more than LOSS_WARN_PCT % of packets are lost;
// - bandwidth: the encoder says it is held back by bandwidth AND the browser's estimate of the
//   uplink (availableOutgoingBitrate) is under half of what the camera's picture needs. The
//   reason alone is not enough: Chromium starts every broadcast small and steps the resolution
//   up, reporting "bandwidth" for the first 20-30 s even on a fast link (measured here: 22 s
//   at a 3.5 Mbps estimate);
// - low_bitrate: the estimate is under LOW_ESTIMATE_RATIO of that need whatever the encoder
//   says (a very poor uplink);
// - cpu: the encoder is held back by the processor.
// The bitrate actually sent is not compared with the encoder's target: a still picture (slides)
// needs far less than the target, and that is fine.

export const LOSS_WARN_PCT = 5;
export const BANDWIDTH_RATIO = 0.5;
export const LOW_ESTIMATE_RATIO = 0.3;
export const WARN_AFTER_SAMPLES = 3;
export const RAMP_UP_MS = 15000; // the bandwidth estimate is not judged while it ramps up

// A rough bitrate a picture needs (bits/s): 0.1 bit per pixel per frame (640x480 at 30 fps:
// ~0.9 Mbps), at most 2.5 Mbps. Only used to say "far under".
export function expectedBitrate(width, height, fps) {
  if (!(width > 0 && height > 0)) return 0;
  const rate = Math.min(Math.max(fps || 30, 10), 30);
  return Math.min(width * height * rate * 0.1, 2_500_000);
}

// One sample from a getStats() report (anything with forEach over stats objects) and the
// previous sample (or null): {at, bytesSent, width, height, fps (what is sent), sourceWidth,
// sourceHeight, sourceFps (what the camera gives), bitrate, targetBitrate, availableBitrate,
// lossPct, qualityLimitation, rttMs, sendingVideo}.
export function sampleOutbound(report, previous, now = Date.now()) {
  let bytesSent = 0;
  let video = null;
  let source = null;
  let selectedPair = null;
  let nominatedPair = null;
  const pairs = new Map();
  let lossPct = null;
  let rttMs = null;
  let packetsSent = 0;
  let packetsLost = 0;
  let lossFromCounts = false;
  report.forEach((s) => {
    if (s.type === "outbound-rtp") {
      bytesSent += s.bytesSent || 0;
      packetsSent += s.packetsSent || 0;
      if (s.kind === "video" && (!video || (s.bytesSent || 0) > (video.bytesSent || 0))) video = s;
    } else if (s.type === "media-source" && s.kind === "video") {
      source = s;
    } else if (s.type === "transport" && s.selectedCandidatePairId) {
      selectedPair = s.selectedCandidatePairId;
    } else if (s.type === "candidate-pair") {
      pairs.set(s.id, s);
      if (s.nominated && s.state === "succeeded") nominatedPair = s;
    } else if (s.type === "remote-inbound-rtp") {
      // The server's receiver reports: the share lost since its last report, and the total.
      if (typeof s.fractionLost === "number") lossPct = Math.max(lossPct ?? 0, s.fractionLost * 100);
      if (typeof s.packetsLost === "number") {
        packetsLost += Math.max(0, s.packetsLost);
        lossFromCounts = true;
      }
      if (typeof s.roundTripTime === "number") rttMs = Math.max(rttMs ?? 0, s.roundTripTime * 1000);
    }
  });
  const pair = (selectedPair && pairs.get(selectedPair)) || nominatedPair;
  const sample = {
    at: now,
    bytesSent,
    packetsSent,
    packetsLost,
    width: video ? video.frameWidth || 0 : 0,
    height: video ? video.frameHeight || 0 : 0,
    fps: video && typeof video.framesPerSecond === "number" ? video.framesPerSecond : null,
    sourceWidth: source && source.width ? source.width : video ? video.frameWidth || 0 : 0,
    sourceHeight: source && source.height ? source.height : video ? video.frameHeight || 0 : 0,
    sourceFps: source && typeof source.framesPerSecond === "number" ? source.framesPerSecond : null,
    targetBitrate: video && typeof video.targetBitrate === "number" ? video.targetBitrate : null,
    availableBitrate: pair && typeof pair.availableOutgoingBitrate === "number" ? pair.availableOutgoingBitrate : null,
    qualityLimitation: video ? video.qualityLimitationReason || "none" : "none",
    sendingVideo: Boolean(video && (video.framesEncoded || 0) > 0),
    bitrate: null,
    lossPct,
    rttMs,
  };
  if (previous && now > previous.at && bytesSent >= previous.bytesSent) {
    sample.bitrate = ((bytesSent - previous.bytesSent) * 8 * 1000) / (now - previous.at);
    // Loss over the last interval from the counters, when the reports carry them.
    const sent = packetsSent - previous.packetsSent;
    const lost = packetsLost - previous.packetsLost;
    if (lossFromCounts && sent > 0 && lost >= 0) sample.lossPct = Math.max(sample.lossPct ?? 0, (lost / (sent + lost)) * 100);
  }
  return sample;
}

// What is wrong with one sample, or null: "loss", "bandwidth", "low_bitrate", "cpu".
// `onAirMs`: how long the session has been connected (no judging during the ramp-up).
export function problemOf(sample, onAirMs) {
  if (!sample) return null;
  if (sample.lossPct !== null && sample.lossPct > LOSS_WARN_PCT) return "loss";
  if (onAirMs < RAMP_UP_MS || !sample.sendingVideo) return null;
  const need = expectedBitrate(sample.sourceWidth, sample.sourceHeight, sample.sourceFps ?? sample.fps);
  // The uplink estimate; browsers without one: the encoder's target, which follows it.
  const estimate = sample.availableBitrate ?? sample.targetBitrate;
  if (need && estimate !== null) {
    if (estimate < need * LOW_ESTIMATE_RATIO) return "low_bitrate";
    if (sample.qualityLimitation === "bandwidth" && estimate < need * BANDWIDTH_RATIO) return "bandwidth";
  }
  if (sample.qualityLimitation === "cpu") return "cpu";
  return null;
}

// Turns per-sample problems into a steady warning: a problem must hold WARN_AFTER_SAMPLES
// samples before it shows, and the warning goes after as many good samples.
export class WarningGate {
  constructor(after = WARN_AFTER_SAMPLES) {
    this.after = after;
    this.current = null;
    this.candidate = null;
    this.count = 0;
    this.good = 0;
  }

  push(problem) {
    if (problem) {
      this.good = 0;
      if (problem === this.candidate) this.count += 1;
      else {
        this.candidate = problem;
        this.count = 1;
      }
      if (this.count >= this.after) this.current = problem;
    } else {
      this.candidate = null;
      this.count = 0;
      this.good += 1;
      if (this.good >= this.after) this.current = null;
    }
    return this.current;
  }

  reset() {
    this.current = null;
    this.candidate = null;
    this.count = 0;
    this.good = 0;
  }
}

// "1:02:03" / "4:05" on air.
export function formatElapsed(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  return `${h}:${two(m)}:${two(s)}`;
}

// The level (0..1) of one block of samples (-1..1): RMS on a gentle log scale, so speech
// sits around the middle and a shout near the top.
export function levelOf(samples) {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / Math.max(1, samples.length));
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms); // -inf .. 0
  return Math.min(1, Math.max(0, (db + 60) / 60));
}

// The microphone meter: a Web Audio AnalyserNode on the audio track, read ten times a second
// into `onLevel(level)` (0..1). The AudioContext may start suspended until the person touches
// the page (autoplay rules): it is resumed on the next pointer or key press.
export class MicMeter {
  constructor(onLevel) {
    this.onLevel = onLevel;
    this.context = null;
    this.source = null;
    this.analyser = null;
    this.timer = null;
    this.track = null;
    this.buffer = null;
    this.resume = () => this.context && this.context.state === "suspended" && this.context.resume().catch(() => {});
  }

  attach(track) {
    if (track === this.track) return;
    this.detach();
    if (!track) return;
    const Context = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Context) return;
    try {
      this.context = this.context || new Context();
      this.source = this.context.createMediaStreamSource(new MediaStream([track]));
      this.analyser = this.context.createAnalyser();
      this.analyser.fftSize = 1024;
      this.buffer = new Float32Array(this.analyser.fftSize);
      this.source.connect(this.analyser);
      this.track = track;
      this.resume();
      document.addEventListener("pointerdown", this.resume);
      document.addEventListener("keydown", this.resume);
      this.timer = setInterval(() => this.read(), 100);
    } catch {
      this.detach(); // no meter, the broadcast works the same
    }
  }

  read() {
    if (!this.analyser || document.hidden) return;
    this.analyser.getFloatTimeDomainData(this.buffer);
    this.onLevel(levelOf(this.buffer));
  }

  detach() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.source) this.source.disconnect();
    this.source = null;
    this.analyser = null;
    this.track = null;
    this.onLevel(0);
  }
}
