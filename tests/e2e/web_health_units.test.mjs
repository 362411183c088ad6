// The studio's health arithmetic (web/js/health.js) without a browser: a sample from getStats
// shapes, when a poor connection is worth a warning, and the small formatters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { REPO } from './lib/server.mjs';

const health = await import(pathToFileURL(path.join(REPO, 'web', 'js', 'health.js')).href);
const { sampleOutbound, problemOf, WarningGate, formatElapsed, levelOf, RAMP_UP_MS } = health;

// A getStats()-like report: an array has forEach.
function report({ bytes = 0, packets = 0, width = 1280, height = 720, fps = 30, target = 1_500_000, limit = 'none',
  fractionLost, lost, frames = 100 } = {}) {
  const stats = [
    { type: 'outbound-rtp', kind: 'video', bytesSent: bytes, packetsSent: packets, frameWidth: width,
      frameHeight: height, framesPerSecond: fps, targetBitrate: target, qualityLimitationReason: limit,
      framesEncoded: frames },
    { type: 'outbound-rtp', kind: 'audio', bytesSent: 0, packetsSent: 0 },
    { type: 'media-source', kind: 'video', width: 1280, height: 720, framesPerSecond: 30 },
    { type: 'transport', selectedCandidatePairId: 'P1' },
    { type: 'candidate-pair', id: 'P0', nominated: true, state: 'succeeded', availableOutgoingBitrate: 1 },
    { type: 'candidate-pair', id: 'P1', availableOutgoingBitrate: 2_000_000 },
  ];
  if (fractionLost !== undefined || lost !== undefined) {
    stats.push({ type: 'remote-inbound-rtp', kind: 'video', fractionLost, packetsLost: lost, roundTripTime: 0.02 });
  }
  return stats;
}

test('a sample: resolution, frame rate, bitrate over the interval, loss from the receiver reports', () => {
  const first = sampleOutbound(report({ bytes: 0, packets: 0 }), null, 1000);
  assert.equal(first.bitrate, null);
  assert.equal(first.width, 1280);
  assert.equal(first.fps, 30);
  const second = sampleOutbound(report({ bytes: 250_000, packets: 1000, fractionLost: 0.02, lost: 20 }), first, 3000);
  assert.equal(second.bitrate, 1_000_000); // 250 kB in 2 s
  assert.equal(second.lossPct, 2); // the larger of the report's 2 % and the counters' 20 of 1020
  assert.equal(second.rttMs, 20);
  assert.equal(second.availableBitrate, 2_000_000, 'the selected pair, not another nominated one');
  assert.deepEqual([second.sourceWidth, second.sourceHeight, second.sourceFps], [1280, 720, 30]);
});

test('problems: loss over 5 %, a poor uplink estimate (with or without the encoder saying so), cpu', () => {
  const base = { lossPct: 0, sendingVideo: true, qualityLimitation: 'none', width: 1280, height: 720, fps: 30,
    sourceWidth: 1280, sourceHeight: 720, sourceFps: 30, targetBitrate: 1_500_000, availableBitrate: 3_000_000 };
  const late = RAMP_UP_MS + 1000;
  assert.equal(problemOf(base, late), null);
  assert.equal(problemOf({ ...base, lossPct: 7.5 }, 500), 'loss', 'loss counts at once');
  assert.equal(problemOf({ ...base, lossPct: 4 }, late), null);
  // Chromium's own ramp-up: "bandwidth" with a good estimate is not a problem (measured on loopback).
  assert.equal(problemOf({ ...base, qualityLimitation: 'bandwidth', width: 480, height: 270 }, late), null);
  assert.equal(problemOf({ ...base, qualityLimitation: 'bandwidth', availableBitrate: 1_000_000 }, late), 'bandwidth');
  assert.equal(problemOf({ ...base, qualityLimitation: 'bandwidth', availableBitrate: 1_000_000 }, 5000), null,
    'not during the ramp-up');
  assert.equal(problemOf({ ...base, availableBitrate: 400_000 }, late), 'low_bitrate');
  assert.equal(problemOf({ ...base, availableBitrate: null, targetBitrate: 400_000 }, late), 'low_bitrate',
    'no estimate: the target stands in');
  assert.equal(problemOf({ ...base, qualityLimitation: 'cpu' }, late), 'cpu');
  assert.equal(problemOf({ ...base, sendingVideo: false, availableBitrate: 50_000 }, late), null, 'microphone only');
  // A slide (still picture) sends far under the target: fine.
  assert.equal(problemOf({ ...base, bitrate: 80_000 }, late), null);
});

test('a warning shows after three poor samples in a row and goes after three good ones', () => {
  const gate = new WarningGate(3);
  assert.equal(gate.push('loss'), null);
  assert.equal(gate.push('loss'), null);
  assert.equal(gate.push('loss'), 'loss');
  assert.equal(gate.push(null), 'loss');
  assert.equal(gate.push('loss'), 'loss');
  assert.equal(gate.push(null), 'loss');
  assert.equal(gate.push(null), 'loss');
  assert.equal(gate.push(null), null);
  assert.equal(gate.push('bandwidth'), null, 'one blip is not a warning');
  assert.equal(gate.push(null), null);
});

test('time on air and microphone level', () => {
  assert.equal(formatElapsed(0), '0:00:00');
  assert.equal(formatElapsed(65_000), '0:01:05');
  assert.equal(formatElapsed(3_723_400), '1:02:03');
  assert.equal(levelOf(new Float32Array(256)), 0);
  const loud = new Float32Array(256).fill(0.5);
  const quiet = new Float32Array(256).fill(0.01);
  assert.ok(levelOf(loud) > levelOf(quiet) && levelOf(quiet) > 0 && levelOf(loud) <= 1);
});
