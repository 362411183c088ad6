// Runs tests/e2e/gst_webrtc.py (GStreamer webrtcbin WHIP publisher / WHEP player) from the Node
// tests. It must run under Debian's /usr/bin/python3: the `python3` on PATH may be a CPython
// (pyenv) without Debian's python3-gi. Override with LIVEROOM_GST_PYTHON.
//
//   const pub = startGst(['publish', '--url', room.whip_url, '--token', room.host_token,
//                         '--codec', 'h264', '--seconds', '30']);
//   const play = await runGst(['play', '--url', view.whep_url, '--seconds', '20', '--frames', '60']);
//   assert.ok(play.frames > 0, JSON.stringify(play));
//   const published = await pub.result;   // after --seconds, with the DELETE's status
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const GST_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'gst_webrtc.py');
export const GST_PYTHON = process.env.LIVEROOM_GST_PYTHON || '/usr/bin/python3';

/**
 * Starts gst_webrtc.py with `args`. Returns {proc, result, log, waitForLog, exited, stop, kill}:
 *   result: resolves to the JSON object it printed, plus `exitCode` and `stderr` (its log);
 *           rejects if it printed no JSON (a crash) or ran longer than `timeout` ms (killed).
 *   waitForLog(re): waits for a progress line on its stderr while it runs (play writes
 *           "first video frame decoded (WxH)", "N video frames decoded" every 30 frames and
 *           "first audio buffer decoded").
 *   stop(): SIGTERM: the script ends its run early the normal way (stats, DELETE unless
 *           --no-delete, JSON).
 *   kill(): SIGKILL: it vanishes without a DELETE (a publisher whose machine died); `result`
 *           then resolves to {killed: true, exitCode: null, stderr}.
 */
export function startGst(args, { timeout = 120000, env = {} } = {}) {
  const proc = spawn(GST_PYTHON, [GST_SCRIPT, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let killed = false;
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  const waiters = new Set(); // run on each stderr chunk and when the process ends
  let closed = false;
  proc.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d;
    for (const w of waiters) w();
  });
  const result = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`gst_webrtc.py ${args.join(' ')} still running after ${timeout} ms; stderr:\n${stderr.slice(-4000)}`));
    }, timeout);
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${GST_PYTHON} ${GST_SCRIPT}: ${e.message}`));
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      closed = true;
      for (const w of waiters) w();
      const line = stdout.trim().split('\n').filter(Boolean).pop();
      let parsed;
      try {
        parsed = line && JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (!parsed && killed) {
        resolve({ killed: true, exitCode: code, signal, stderr });
        return;
      }
      if (!parsed) {
        reject(new Error(`gst_webrtc.py ${args.join(' ')} exited (code ${code}, signal ${signal}) without JSON; ` +
          `stdout:\n${stdout.slice(-2000)}\nstderr:\n${stderr.slice(-4000)}`));
        return;
      }
      resolve({ ...parsed, exitCode: code, stderr });
    });
  });
  result.catch(() => {}); // a caller that only stop()s must not get an unhandled rejection
  return {
    proc,
    result,
    /** Its stderr so far (the script's progress log). */
    log: () => stderr,
    /**
     * Resolves with the match once its stderr matches `re` (e.g. /first video frame decoded/);
     * rejects if the process ends first or after `timeout` ms, with the stderr tail.
     */
    waitForLog: (re, { timeout: ms = 45000 } = {}) => new Promise((resolve, reject) => {
      const finish = (err, m) => {
        clearTimeout(t);
        waiters.delete(check);
        if (err) reject(err);
        else resolve(m);
      };
      const check = () => {
        const m = stderr.match(re);
        if (m) return finish(null, m);
        if (closed) return finish(new Error(`gst_webrtc.py ${args.join(' ')} ended before ${re} appeared; stderr:\n${stderr.slice(-4000)}`));
        return undefined;
      };
      const t = setTimeout(() => finish(new Error(`${re} not in gst_webrtc.py's stderr after ${ms} ms; stderr:\n${stderr.slice(-4000)}`)), ms);
      waiters.add(check);
      check();
    }),
    /** true once the process has exited. */
    get exited() { return closed; },
    stop: () => proc.kill('SIGTERM'),
    kill: () => {
      killed = true;
      proc.kill('SIGKILL');
    },
  };
}

/** startGst(...).result: runs to the end and resolves to the printed JSON (+ exitCode, stderr). */
export function runGst(args, options) {
  return startGst(args, options).result;
}
