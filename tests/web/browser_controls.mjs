// The page's call controls in a real browser (Debian chromium driven by playwright-core),
// against a real relay and a real wzp-web. Ann joins with a fake microphone playing a 440 Hz
// tone and her name; Bob joins with "Listen only" from a browser that has no microphone at all.
// Bob hears Ann, sees her name and her speaking ring; Ann sees Bob as muted; Ann's mute is shown
// to Bob and stops her ring; Bob's volume slider silences Ann for Bob alone; Ann switches her
// microphone in the call and Bob goes on hearing her; Ann leaves and joins
// again from the same page; the bridge is killed and restarted on its port and both pages join
// again on their own, without a reload, and with the identity each page keeps. A page that cannot reach the microphone (what a plain
// HTTP page from another machine sees) says that HTTPS is needed.
//
//   node tests/web/browser_controls.mjs BIN_DIR [SCREENSHOT_DIR]
// With SCREENSHOT_DIR: web-call.png (desktop) and web-call-phone.png (a phone's width).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { browserArgs, heardFrequency, log, rms, waitFor, within, run, isTone } from './harness.mjs';

const bin = process.argv[2];
const shots = process.argv[3];
await run('wzp-controls-', async ({ dir, start, check }) => {
  execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', join(dir, 'ann.wav'),
                       'synth', '0.4', 'sine', '440', 'vol', '0.3', 'pad', '0', '0.1', 'repeat', '200']);
  const relay = await start(`${bin}/wzp-relay`, ['--listen', '127.0.0.1:0', '--state-dir', join(dir, 'relay'), '--metrics-listen', 'off'],
                            /listening on (127\.0\.0\.1:\d+)/);
  const webArgs = (port) => ['--port', String(port), '--relay', relay.match[1], '--state-dir', join(dir, 'web')];
  let web = await start(`${bin}/wzp-web`, webArgs(0), /serving (http:\/\/127\.0\.0\.1:(\d+))\//);
  const base = web.match[1], port = web.match[2];
  log('relay', relay.match[1], 'bridge', base);

  const annBrowser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: browserArgs(join(dir, 'ann.wav')) });
  const bobBrowser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: browserArgs(null) });
  const ann = await annBrowser.newPage({ viewport: { width: 1100, height: 760 } });
  const bob = await bobBrowser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  for (const [n, p] of [['ann', ann], ['bob', bob]]) p.on('pageerror', (e) => log(`page ${n} error:`, e.message));
  await ann.goto(`${base}/controls?processing=off`);
  await ann.fill('#name', 'Ann');
  await ann.click('#join');
  await bob.goto(`${base}/controls`);
  await bob.fill('#name', 'Bob');
  await bob.click('#listen');

  // Bob, listening only, hears Ann and sees her by name, speaking.
  await waitFor(bob, () => window.wzp.members >= 1, null, 15000, 'Ann listed on Bob\'s page');
  const heard = await heardFrequency(bob, 100);
  check(isTone(heard.f, 440) && heard.rms > 500, `Bob (listen only, no microphone) hears Ann's tone (${heard.f.toFixed(1)} Hz)`);
  check(await bob.evaluate(() => window.wzp.framesSent === 0 && window.wzp.listenOnly), 'Bob sends nothing');
  const annSession = await bob.evaluate(() => window.wzp.memberList.find((m) => m.name === 'Ann')?.session);
  check(annSession !== undefined, 'Bob lists Ann by the name she gave');
  const ring = (session) => window.wzp.speaking?.includes(session) &&
    [...document.querySelectorAll('#members li.speaking .name')].some((n) => n.textContent === 'Ann');
  check(await within(bob, ring, annSession, 5000, 'Ann\'s speaking ring'), 'Ann is shown speaking on Bob\'s page');
  // Ann sees Bob as muted (a listener sends nothing).
  const bobMuted = () => window.wzp.memberList.some((m) => m.name === 'Bob' && m.muted);
  check(await within(ann, bobMuted, null, 5000, 'Bob shown muted'), 'Ann sees Bob, who only listens, as muted');

  // Ann mutes: Bob sees it, and her ring goes out; she unmutes: back.
  await ann.click('#mute');
  const annMutedOnBob = () => window.wzp.memberList.some((m) => m.name === 'Ann' && m.muted) &&
    !!document.querySelector('#members li.is-muted .mic:not([hidden])');
  check(await within(bob, annMutedOnBob, null, 5000, 'Ann shown muted'), 'Ann\'s mute is shown on Bob\'s page');
  check(await within(bob, (s) => !window.wzp.speaking?.includes(s), annSession, 5000, 'ring out'), 'a muted Ann is not shown speaking');
  await ann.click('#mute');
  check(await within(bob, (s) => window.wzp.memberList.some((m) => m.name === 'Ann' && !m.muted) && window.wzp.speaking?.includes(s),
                     annSession, 8000, 'Ann unmuted and speaking'), 'Ann unmuted is shown unmuted and speaking again');

  // Bob turns Ann down to nothing: silence for him, while she is still shown speaking.
  const setVolume = (v) => bob.evaluate((v) => {
    const slider = document.querySelector('#members li.member input[type=range]');
    slider.value = v;
    slider.dispatchEvent(new Event('input'));
  }, v);
  await setVolume(0);
  await bob.waitForTimeout(600);  // what was already mixed plays out (the bridge's playout)
  const framesAt0 = await bob.evaluate(() => window.wzp.framesHeard);
  await waitFor(bob, (n) => window.wzp.framesHeard >= n + 50, framesAt0, 10000, 'a second at volume 0');
  const quiet = rms(await bob.evaluate(() => window.wzp.heard.last(48000)));
  const stillRing = await bob.evaluate((s) => window.wzp.speaking?.includes(s), annSession);
  check(quiet < 20 && stillRing, `at volume 0 Bob hears nothing of Ann (RMS ${quiet.toFixed(1)}) while she is shown speaking`);
  await setVolume(100);
  const back = await heardFrequency(bob, framesAt0 + 120);
  check(isTone(back.f, 440) && back.rms > 500, 'at volume 100 % she is back');

  // Ann switches to another microphone in the call: the page says so, and Bob goes on hearing her.
  const before = await ann.evaluate(() => window.wzp.microphone);
  const other = await ann.evaluate(() => [...document.querySelectorAll('#mic-in-call option')]
    .find((o) => o.value && o.textContent !== window.wzp.microphone)?.value);
  check(!!other, 'Ann\'s page offers another microphone in the call');
  await ann.selectOption('#mic-in-call', other);
  check(await within(ann, (b) => window.wzp.microphone && window.wzp.microphone !== b, before, 5000, 'the switch'),
        `Ann's microphone switched in the call (${before} -> ${await ann.evaluate(() => window.wzp.microphone)})`);
  const switched = await heardFrequency(bob, (await bob.evaluate(() => window.wzp.framesHeard)) + 100);
  check(isTone(switched.f, 440) && switched.rms > 500, 'Bob hears Ann on her new microphone without her leaving');

  // Ann leaves: Bob sees her go; she joins again from the same page.
  const annFp = await ann.evaluate(() => window.wzp.me);
  await ann.click('#leave');
  check(await ann.evaluate(() => window.wzp.state === 'left' && !document.getElementById('prejoin').hidden &&
                                 document.getElementById('incall').hidden),
        'Ann\'s page shows that she left, ready to join again');
  check(await within(bob, (fp) => window.wzp.memberEvents.some((e) => e.event === 'left' && e.fingerprint === fp), annFp, 10000, 'Ann\'s leave'),
        'Bob sees Ann leave at once');
  await ann.click('#join');
  check(await within(bob, () => window.wzp.memberList.some((m) => m.name === 'Ann'), null, 15000, 'Ann back'), 'Ann joins again without a reload');
  const again = await heardFrequency(bob, (await bob.evaluate(() => window.wzp.framesHeard)) + 100);
  check(isTone(again.f, 440), 'and Bob hears her again');
  // The same Ann: her identity is the page's, not the connection's (no "came back with another
  // identity" alarm, and the safety number Bob may have compared still holds).
  const same = await bob.evaluate((fp) => window.wzp.memberList.some((m) => m.name === 'Ann' && m.fingerprint === fp) &&
    !window.wzp.memberEvents.some((e) => e.event === 'identity_changed'), annFp);
  check(same, 'Ann rejoins with the same identity, and Bob\'s page raises no alarm');

  if (shots) {
    await waitFor(ann, () => window.wzp.memberList.length >= 1 && window.wzp.quality > 0, null, 10000, 'Ann\'s page settled');
    await ann.screenshot({ path: join(shots, 'web-call.png') });
    await bob.screenshot({ path: join(shots, 'web-call-phone.png'), fullPage: true });
    log('screenshots in', shots);
  }

  // The bridge dies and comes back on its port: both pages join again on their own.
  web.proc.kill('SIGKILL');
  await new Promise((r) => web.proc.once('exit', r));
  const lost = await Promise.all([ann, bob].map((p) => within(p, () => window.wzp.state === 'reconnecting' &&
    window.wzp.banner.kind === 'amber' && window.wzp.banner.text.startsWith('lost the bridge'), null, 10000, 'the amber banner')));
  check(lost.every(Boolean), 'both pages say they lost the bridge and will join again');
  web = await start(`${bin}/wzp-web`, webArgs(port), /serving (http:\/\/127\.0\.0\.1:(\d+))\//);
  const rejoined = await Promise.all([ann, bob].map((p) => within(p, () => window.wzp.opens >= 2 && window.wzp.state === 'open', null, 15000, 'joined again')));
  check(rejoined.every(Boolean), 'both pages join again once the bridge is back');
  const after = await heardFrequency(bob, (await bob.evaluate(() => window.wzp.framesHeard)) + 100);
  check(isTone(after.f, 440), `Bob hears Ann again after the bridge's restart (${after.f.toFixed(1)} Hz)`);
  const reloads = await Promise.all([ann, bob].map((p) => p.evaluate(() => performance.getEntriesByType('navigation').length)));
  check(reloads.every((n) => n === 1), 'no page reloaded');
  check(await ann.evaluate((fp) => window.wzp.me === fp, annFp), 'Ann has the same identity after the bridge\'s restart');

  // Where the browser offers no microphone (a plain-HTTP page from another machine), the page
  // says why and how, instead of a script error.
  const insecure = await bobBrowser.newPage();
  await insecure.addInitScript(() => Object.defineProperty(Navigator.prototype, 'mediaDevices', { get: () => undefined }));
  await insecure.goto(`${base}/controls`);
  await insecure.click('#join');
  const said = await insecure.evaluate(() => window.wzp.banner?.text || '');
  check(said.includes('https://') && said.includes('Listen only'), `without a microphone API the page says: "${said}"`);
  await annBrowser.close();
  await bobBrowser.close();
});
