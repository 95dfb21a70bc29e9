// The page in a real browser (Debian chromium driven by playwright-core), against a real relay
// and a real wzp-web: two pages join one room, each with a fake microphone playing a tone
// (440 and 660 Hz); each must hear the other's, and log the other's join with the pair's safety
// number; a third page that expects only the first flags the second; a page with a secret is
// alone in the invite-only room of the same name. Then the relay is killed
// and restarted on the same port: the pages must show the amber "reconnecting" banner, then the green "registered"
// one, and hear each other again, without a reload.
//
//   node tests/web/browser_call.mjs BIN_DIR [SCREENSHOT.png]
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { browserArgs, dominant, heardFrequency, log, waitFor, run, isTone } from './harness.mjs';

const bin = process.argv[2];
const screenshot = process.argv[3];
await run('wzp-web-', async ({ dir, start, check }) => {
  for (const [name, hz] of [['a', 440], ['b', 660]]) {
    // Bursts (400 ms of tone, 100 ms of silence), as speech has pauses: the bridge's voice
    // activity detector would take an endless steady tone for background noise.
    execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', join(dir, `${name}.wav`),
                         'synth', '0.4', 'sine', String(hz), 'vol', '0.3', 'pad', '0', '0.1', 'repeat', '120']);
  }
  const relayArgs = (listen) => ['--listen', listen, '--state-dir', join(dir, 'relay'), '--metrics-listen', 'off'];
  let relay = await start(`${bin}/wzp-relay`, relayArgs('127.0.0.1:0'), /listening on (127\.0\.0\.1:\d+)/);
  const relayAddr = relay.match[1];
  const web = await start(`${bin}/wzp-web`, ['--port', '0', '--relay', relayAddr, '--state-dir', join(dir, 'web')],
                          /serving (http:\/\/127\.0\.0\.1:\d+)\//);
  const base = web.match[1];
  log('relay', relayAddr, 'bridge', base);

  const browsers = [];
  const pages = [];
  for (const name of ['a', 'b']) {
    const b = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: browserArgs(join(dir, name + '.wav')),
    });
    browsers.push(b);
    const page = await b.newPage({ viewport: { width: 390, height: 760 } });
    page.on('pageerror', (e) => log(`page ${name} error:`, e.message));
    await page.goto(`${base}/e2e-room?processing=off`);
    await page.click('#join');
    pages.push(page);
  }
  const [a, b] = pages;
  for (const p of pages) await waitFor(p, () => window.wzp.members >= 1, null, 15000, 'the other participant listed');
  const sentA = await a.evaluate(() => window.wzp.sent.last(48000));
  log(`page A's microphone: ${dominant(sentA).toFixed(1)} Hz`);
  const bHears = await heardFrequency(b, 150);
  const aHears = await heardFrequency(a, 150);
  log(`page B hears ${bHears.f.toFixed(1)} Hz (RMS ${bHears.rms.toFixed(0)}); page A hears ${aHears.f.toFixed(1)} Hz (RMS ${aHears.rms.toFixed(0)})`);
  check(isTone(bHears.f, 440) && bHears.rms > 500, 'page B plays page A\'s 440 Hz tone');
  check(isTone(aHears.f, 660) && aHears.rms > 500, 'page A plays page B\'s 660 Hz tone');

  // Membership is shown: each page logs the other's join with its fingerprint and the pair's
  // safety number, the same number on both pages.
  await Promise.all(pages.map((p) => waitFor(p, () => window.wzp.me && window.wzp.memberEvents.length >= 1, null, 10000, 'a join logged')));
  const [fpA, fpB] = await Promise.all(pages.map((p) => p.evaluate(() => window.wzp.me)));
  const joinSeen = async (p, fp) => p.evaluate((fp) => window.wzp.memberEvents.find((e) => e.event === 'joined' && e.fingerprint === fp), fp);
  const [bOnA, aOnB] = [await joinSeen(a, fpB), await joinSeen(b, fpA)];
  check(!!bOnA && !!aOnB && /^(\d{5} ){11}\d{5}$/.test(bOnA.safety_number) && bOnA.safety_number === aOnB.safety_number,
        `each page logs the other's join with one safety number (${bOnA && bOnA.safety_number})`);
  // A third page that expects only A: B is flagged as not expected (B gets none of its key).
  const c = await browsers[0].newPage({ viewport: { width: 390, height: 760 } });
  await c.goto(`${base}/e2e-room?processing=off&expect=${encodeURIComponent(fpA)}`);
  await c.click('#join');
  await waitFor(c, () => window.wzp.memberList && window.wzp.memberList.length === 2, null, 15000, 'page C lists A and B');
  const listed = await c.evaluate(() => Object.fromEntries(window.wzp.memberList.map((m) => [m.fingerprint, m.expected])));
  const cBanner = await c.evaluate(() => window.wzp.alert || { kind: 'none', text: '' });
  check(listed[fpA] === true && listed[fpB] === false && cBanner.kind === 'amber' && cBanner.text.includes('not expected'),
        `page C (expect=A) flags B as not expected: "${cBanner.text}"`);
  const fpC = await c.evaluate(() => window.wzp.me);
  await c.close();
  const left = await waitFor(a, (fp) => window.wzp.memberEvents.some((e) => e.event === 'left' && e.fingerprint === fp), fpC, 10000, 'C\'s leave logged').then(() => true, (e) => { log(e.message); return false; });
  check(left, 'page A logs page C leaving');
  // A page with the room's name and a secret is in the invite-only room of that name: nobody
  // from the open room is there, and neither side sees the other. The open room says it is open.
  const d = await browsers[1].newPage({ viewport: { width: 390, height: 760 } });
  await d.goto(`${base}/e2e-room?processing=off#secret=00112233445566778899aabbccddeeff`);
  await d.click('#join');
  await waitFor(d, () => window.wzp.connected && window.wzp.access === 'invite', null, 15000, 'page D in the invite-only room');
  const dSees = await d.evaluate(() => ({ n: window.wzp.memberList.length, label: document.getElementById('access').textContent, me: window.wzp.me }));
  const aSees = await a.evaluate((fp) => ({ access: window.wzp.access, label: document.getElementById('access').textContent,
    sawD: window.wzp.memberEvents.some((e) => e.fingerprint === fp) }), dSees.me);
  check(dSees.n === 0 && dSees.label === 'invite-only' && aSees.access === 'open' && aSees.label === 'open room' && !aSees.sawD,
        `a page with a secret is alone in the invite-only room (lists ${dSees.n}); the open room is labelled "${aSees.label}"`);
  await d.close();
  await waitFor(a, () => window.wzp.banner && window.wzp.banner.kind === 'green', null, 10000, 'green banner');
  if (screenshot) {
    await a.screenshot({ path: screenshot });
    log('screenshot', screenshot);
  }

  // The relay dies and comes back on the same port.
  relay.proc.kill('SIGKILL');
  await new Promise((r) => relay.proc.once('exit', r));
  const amber = await Promise.all(pages.map((p) => waitFor(p, () => window.wzp.banner && window.wzp.banner.kind === 'amber', null, 10000, 'amber banner').then(() => true, (e) => { log(e.message); return false; })));
  check(amber.every(Boolean), 'both pages show the amber "reconnecting" banner');
  const bannerText = await a.evaluate(() => window.wzp.banner.text);
  check(bannerText.startsWith(`reconnecting to ${relayAddr}`), `banner reads "${bannerText}"`);
  relay = await start(`${bin}/wzp-relay`, relayArgs(relayAddr), /listening on (127\.0\.0\.1:\d+)/);
  const back = Date.now();
  const green = await Promise.all(pages.map((p) => waitFor(p, () => window.wzp.banner && window.wzp.banner.kind === 'green', null, 15000, 'green banner again').then(() => true, (e) => { log(e.message); return false; })));
  check(green.every(Boolean), 'both pages show the green "registered" banner again');
  const heardBefore = await b.evaluate(() => window.wzp.framesHeard);
  const again = await heardFrequency(b, heardBefore + 100);
  log(`after the restart page B hears ${again.f.toFixed(1)} Hz again, ${((Date.now() - back) / 1000).toFixed(1)} s after the relay came back`);
  check(isTone(again.f, 440), 'audio flows again without a reload');
  // RNNoise in the capture path, from the bridge (no CDN): it loads and the page keeps sending.
  await a.click('#rnnoise');
  const rn = await waitFor(a, () => window.wzp.rnnoise === true, null, 10000, 'RNNoise loaded').then(() => true, (e) => { log(e.message); return false; });
  const sentBefore = await a.evaluate(() => window.wzp.framesSent);
  const flowing = rn && await waitFor(a, (n) => window.wzp.framesSent > n + 50, sentBefore, 5000, 'frames through RNNoise').then(() => true, () => false);
  check(rn && flowing, 'RNNoise runs in the capture path (WebAssembly served by wzp-web)');
  const reloads = await a.evaluate(() => performance.getEntriesByType('navigation').length);
  check(reloads === 1, 'no reload happened');
  for (const br of browsers) await br.close();
});
