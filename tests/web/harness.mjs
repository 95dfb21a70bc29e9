// What the real-browser tests share: processes started and awaited by their output, the
// strongest frequency in what a page heard, waiting on a page's state, and a pass/fail tally.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export const log = (...a) => console.log('[browser]', ...a);
export const deadline = (ms) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms));

// Starts a process (kept in `procs`, for the caller to kill) and resolves with the first match
// of `pattern` in its output.
export function start(procs, cmd, args, pattern, ms = 10000) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  return Promise.race([
    new Promise((resolve, reject) => {
      for (const s of [p.stdout, p.stderr]) {
        createInterface({ input: s }).on('line', (line) => {
          const m = line.match(pattern);
          if (m) resolve({ proc: p, match: m });
        });
      }
      p.on('exit', (code, signal) => {
        if (signal && signal !== 'SIGTERM' && signal !== 'SIGKILL') log(`${cmd} died of ${signal}`);
        reject(new Error(`${cmd} exited with ${code ?? signal}`));
      });
    }),
    deadline(ms),
  ]);
}

// The strongest frequency between 100 and 2000 Hz, by a Goertzel scan then refinement.
export function dominant(samples, rate = 48000) {
  const power = (f) => {
    const w = (2 * Math.PI * f) / rate, c = 2 * Math.cos(w);
    let s1 = 0, s2 = 0;
    for (const x of samples) { const s0 = x + c * s1 - s2; s2 = s1; s1 = s0; }
    return s1 * s1 + s2 * s2 - c * s1 * s2;
  };
  let best = 100, bestP = -1;
  for (let f = 100; f <= 2000; f += 5) { const p = power(f); if (p > bestP) { bestP = p; best = f; } }
  for (let f = best - 5; f <= best + 5; f += 0.1) { const p = power(f); if (p > bestP) { bestP = p; best = f; } }
  return best;
}

// Whether a measured frequency is the tone of `hz`: within 1 %. The tones told apart are a
// fifth apart; under a sanitizer on a loaded machine the playout's time-stretching moved a
// 660 Hz tone to 662 Hz in one run (0.3 %).
export const isTone = (f, hz) => Math.abs(f - hz) <= hz * 0.01;

export const rms = (samples) => Math.sqrt(samples.reduce((a, x) => a + x * x, 0) / Math.max(1, samples.length));

export async function waitFor(page, fn, arg, ms, what) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms, polling: 100 });
  } catch (e) {
    throw new Error(`${what}: not within ${ms} ms (${e.message.split('\n')[0]})`);
  }
}

// The same, as true or false (logged), for a check rather than a precondition.
export const within = (page, fn, arg, ms, what) =>
  waitFor(page, fn, arg, ms, what).then(() => true, (e) => { log(e.message); return false; });

// What a page heard over the last second, once it has heard `after` more frames.
export async function heardFrequency(page, after) {
  await waitFor(page, (n) => window.wzp.framesHeard >= n, after, 15000, 'audio from the other page');
  const samples = await page.evaluate(() => window.wzp.heard.last(48000));
  return { f: dominant(samples), rms: rms(samples) };
}

// A tally of checks: each is logged; `failed` says whether any failed.
export function checks() {
  const t = { failed: false };
  t.check = (ok, what) => { log((ok ? 'ok   ' : 'FAIL ') + what); if (!ok) t.failed = true; };
  return t;
}

// Chromium with a fake microphone playing `wav` (none: no microphone at all).
export function browserArgs(wav) {
  const args = ['--autoplay-policy=no-user-gesture-required', '--no-sandbox'];
  if (wav) args.push('--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`);
  return args;
}

// Runs a test's body with a scratch folder, a `start` whose processes are killed at the end and
// a `check`; exits with the verdict (a thrown error is a failure, logged).
export async function run(prefix, body) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const procs = [];
  const tally = checks();
  try {
    await body({ dir, start: (...a) => start(procs, ...a), check: tally.check });
  } catch (e) {
    log('FAIL', e.message);
    tally.failed = true;
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(tally.failed ? 1 : 0);
}
