// The bridge's half of `wzp-bench soak` (bench/soak_suite.cpp samples the bridge; this drives
// it): a real relay and a real wzp-web, then for RUN_SECONDS real Chromium pages (fake
// microphones playing tone bursts) join and leave rooms of about four, at most PAGES at once,
// each for 10 to 40 s, saying every 2 s how many frames each heard; every 20 s a WebSocket reader that joins a room and stops reading; the relay is
// killed and restarted on the same port every two minutes (once, halfway, in a shorter run).
// One JSON object per line on stdout: {"event": "bridge" | "join" | "leave" | "slow" |
// "heard" | "restart" | "error" | "done", ...}. After "done" it waits for a line on stdin, then stops.
//
//   node bench/web_soak.mjs BIN_DIR RUN_SECONDS PAGES WORK_DIR
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [bin, runArg, pagesArg, dir] = process.argv.slice(2);
const runMs = Number(runArg) * 1000;
const maxPages = Number(pagesArg);
const say = (o) => console.log(JSON.stringify(o));
const procs = new Set();
const rooms = Array.from({ length: Math.max(1, Math.round(maxPages / 4)) }, (_, k) => `soak-${k}`);
const restartEvery = runMs >= 240000 ? 120000 : runMs / 2;

let stopping = false;
function start(cmd, args, pattern, ms = 15000) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(p);
  const tail = [];
  for (const s of [p.stdout, p.stderr]) {
    createInterface({ input: s }).on('line', (line) => { tail.push(line); if (tail.length > 5) tail.shift(); });
  }
  p.on('exit', (code, signal) => {
    procs.delete(p);
    // The relay is killed on purpose; anything else ending early is what the soak looks for.
    if (!stopping && signal !== 'SIGKILL') {
      say({ event: 'error', message: `${cmd} exited with ${code ?? signal}; its last lines: ${tail.join(' | ')}` });
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd}: no "${pattern}" within ${ms} ms`)), ms);
    for (const s of [p.stdout, p.stderr]) {
      createInterface({ input: s }).on('line', (line) => {
        const m = line.match(pattern);
        if (m) { clearTimeout(timer); resolve({ proc: p, match: m }); }
      });
    }
    p.on('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`${cmd} exited with ${code ?? signal}`)); });
  });
}

// A WebSocket client that joins a room, then never reads again: the bridge must bound what it
// queues for it and let it go, without hurting the pages.
function slowReader(host, port, room) {
  const s = net.connect(port, host, () => {
    s.write(`GET /ws/${room} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    s.pause();
  });
  s.on('error', () => {});
  setTimeout(() => s.destroy(), 40000);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const browsers = [];
try {
  mkdirSync(dir, { recursive: true });
  const tone = join(dir, 'tone.wav');
  execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', tone,
                       'synth', '0.4', 'sine', '440', 'vol', '0.3', 'pad', '0', '0.1', 'repeat', '120']);
  const relayArgs = (listen) => ['--listen', listen, '--state-dir', join(dir, 'relay'), '--metrics-listen', 'off'];
  let relay = await start(`${bin}/wzp-relay`, relayArgs('127.0.0.1:0'), /listening on (127\.0\.0\.1:\d+)/);
  const relayAddr = relay.match[1];
  const web = await start(`${bin}/wzp-web`, ['--port', '0', '--relay', relayAddr, '--state-dir', join(dir, 'web')],
                          /serving (http:\/\/(127\.0\.0\.1):(\d+))\//);
  const base = web.match[1];
  say({ event: 'bridge', pid: web.proc.pid, base, relay: relayAddr });
  // Chromium's audio service opens at most 16 microphones at once per browser ("Could not start
  // audio source" past that): the pages are spread over browsers of at most 12 each.
  const browserCount = Math.ceil(maxPages / 12);
  const contexts = [];
  for (let b = 0; b < browserCount; ++b) {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
             `--use-file-for-fake-audio-capture=${tone}`, '--autoplay-policy=no-user-gesture-required', '--no-sandbox'],
    });
    browsers.push(browser);
    const context = await browser.newContext({ viewport: { width: 390, height: 760 } });
    // Each page a visitor of its own: a fresh identity (pages of one context share storage, and
    // the page keeps its identity there).
    await context.addInitScript(() => localStorage.removeItem('wzp.seed'));
    contexts.push(context);
  }
  const began = Date.now();
  const left = () => runMs - (Date.now() - began);
  let open = 0, n = 0;

  const page = async (k) => {
    const lifetime = Math.min(10000 + Math.random() * 30000, Math.max(0, left() - 2000));
    const p = await contexts[k % contexts.length].newPage();
    try {
      await p.goto(`${base}/${rooms[k % rooms.length]}?processing=off`);
      await p.click('#join');
      await p.waitForFunction(() => window.wzp.framesSent > 0, null, { timeout: 15000 });
      say({ event: 'join', page: k });
      const until = Date.now() + lifetime;
      let heard = 0;
      while (Date.now() < until) {
        await sleep(Math.min(2000, until - Date.now()));
        const now = await p.evaluate(() => window.wzp.framesHeard);
        say({ event: 'heard', page: k, frames: now - heard });
        heard = now;
      }
      say({ event: 'leave', page: k, heard });
    } catch (e) {
      // What the page itself said: its connection's state and banner.
      const seen = await p.evaluate(() => `state ${window.wzp.state}, banner "${window.wzp.banner?.text ?? ''}"`)
        .catch(() => 'page gone');
      say({ event: 'error', page: k, message: `${e.message.split('\n')[0]} (${seen})` });
    } finally {
      await p.close().catch(() => {});
    }
  };

  const churn = (async () => {
    const running = new Set();
    while (left() > 12000) {
      if (open < maxPages) {
        ++open;
        const task = page(n++).finally(() => { --open; running.delete(task); });
        running.add(task);
      }
      await sleep(Math.max(250, 25000 / maxPages));  // a page lives 25 s on average
    }
    await Promise.all(running);
  })();
  const slow = (async () => {
    for (let k = 0; left() > 20000; ++k) {
      await sleep(20000);
      slowReader(web.match[2], Number(web.match[3]), rooms[k % rooms.length]);
      say({ event: 'slow' });
    }
  })();
  const restarts = (async () => {
    for (let next = restartEvery; next < runMs - 10000; next += restartEvery) {
      await sleep(Math.max(0, next - (Date.now() - began)));
      relay.proc.kill('SIGKILL');
      await new Promise((r) => (relay.proc.exitCode !== null || relay.proc.signalCode !== null ? r() : relay.proc.once('exit', r)));
      relay = await start(`${bin}/wzp-relay`, relayArgs(relayAddr), /listening on/);
      say({ event: 'restart' });
    }
  })();
  await Promise.all([churn, slow, restarts]);
  await sleep(Math.max(0, left()));
  say({ event: 'done' });
  await new Promise((r) => {
    const rl = createInterface({ input: process.stdin });
    rl.once('line', r);
    rl.once('close', r);
  });
} catch (e) {
  say({ event: 'error', message: e.message.split('\n')[0] });
} finally {
  stopping = true;
  for (const b of browsers) await b.close().catch(() => {});
  for (const p of procs) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
