// A real Prometheus (Debian's prometheus) with deploy/prometheus.yml scraping a real relay and
// a real web bridge while a call runs through the relay, and every query of
// deploy/grafana-dashboard.json must return data. The relay also probes a second relay, so
// that the probe panels have something to show.
//
//   node tests/telemetry/prometheus_dashboard.mjs BIN_DIR
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const bin = process.argv[2];
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'wzp-prom-'));
const procs = [];
const log = (...a) => console.log('[prometheus]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts a process; resolves with the first capture of each pattern once all have matched.
function start(cmd, args, patterns = [], ms = 15000) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  const found = new Array(patterns.length).fill(undefined);
  return new Promise((resolve, reject) => {
    const done = () => found.every((f) => f !== undefined);
    if (done()) return resolve({ proc: p, found });
    const timer = setTimeout(() => reject(new Error(`${cmd}: output did not show ${patterns} within ${ms} ms`)), ms);
    for (const s of [p.stdout, p.stderr]) {
      createInterface({ input: s }).on('line', (line) => {
        patterns.forEach((re, i) => { const m = line.match(re); if (m && found[i] === undefined) found[i] = m[1]; });
        if (done()) { clearTimeout(timer); resolve({ proc: p, found }); }
      });
    }
    p.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${cmd} exited with ${code}`)); });
  });
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function query(base, expr) {
  const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const j = await r.json();
  return j.status === 'success' ? j.data.result : null;
}

const LISTEN = /listening on (127\.0\.0\.1:\d+)/;
const METRICS = /metrics on http:\/\/(127\.0\.0\.1:\d+)\/metrics/;
let failed = false;
try {
  const far = await start(`${bin}/wzp-relay`, ['--listen', '127.0.0.1:0', '--state-dir', join(dir, 'far'), '--metrics-listen', 'off'], [LISTEN]);
  const relay = await start(`${bin}/wzp-relay`, ['--listen', '127.0.0.1:0', '--state-dir', join(dir, 'relay'),
                                                 '--metrics-listen', '127.0.0.1:0', '--probe', far.found[0]], [LISTEN, METRICS]);
  const [relayAddr, relayMetrics] = relay.found;
  const web = await start(`${bin}/wzp-web`, ['--port', '0', '--relay', relayAddr, '--state-dir', join(dir, 'web')],
                          [/serving http:\/\/(127\.0\.0\.1:\d+)\//]);
  const webAddr = web.found[0];
  // A call in progress, so that the quality panels have rooms to show.
  for (const [name, args] of [['rec', ['--duration', '40']], ['snd', ['--send-tone', '40']]]) {
    await start(`${bin}/wzp-client`, [relayAddr, '--room', 'dashboard', '--identity', join(dir, `${name}.id`),
                                      '--known-relays', join(dir, `${name}.pins`), ...args]);
  }
  // deploy/prometheus.yml as it is, but for this run's ports and a 1 s scrape interval.
  const config = readFileSync(join(root, 'deploy', 'prometheus.yml'), 'utf8')
    .replaceAll('127.0.0.1:9464', relayMetrics)
    .replaceAll('127.0.0.1:8080', webAddr)
    .replace(/scrape_interval: \d+s/, 'scrape_interval: 1s');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const promPort = await freePort();
  await start('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
                             `--web.listen-address=127.0.0.1:${promPort}`], [/(Server is ready to receive web requests)/], 30000);
  const base = `http://127.0.0.1:${promPort}`;
  log('relay', relayAddr, 'metrics', relayMetrics, 'bridge', webAddr, 'prometheus', base);

  // Both targets up, then a few scrapes so that rate() has two samples and the call reports.
  for (let i = 0; i < 40; i++) {
    const up = await query(base, 'up');
    if (up && up.length === 2 && up.every((r) => r.value[1] === '1')) break;
    await sleep(500);
  }
  const up = await query(base, 'up');
  for (const r of up || []) log(`target ${r.metric.job} up=${r.value[1]}`);
  if (!up || up.length !== 2 || !up.every((r) => r.value[1] === '1')) throw new Error('targets are not both up');
  await sleep(6000);

  const dashboard = JSON.parse(readFileSync(join(root, 'deploy', 'grafana-dashboard.json'), 'utf8'));
  const exprs = dashboard.panels.flatMap((p) => (p.targets || []).map((t) => ({ panel: p.title, expr: t.expr })));
  let empty = 0;
  for (const { panel, expr } of exprs) {
    let result = await query(base, expr);
    for (let i = 0; i < 10 && !(result && result.length); i++) { await sleep(1000); result = await query(base, expr); }
    const ok = result && result.length > 0;
    if (!ok) empty++;
    log(`${ok ? 'ok   ' : 'EMPTY'} ${panel}: ${expr}${ok ? ` (${result.length} series)` : ''}`);
  }
  log(`${exprs.length - empty} of ${exprs.length} dashboard queries return data`);
  if (empty) failed = true;
} catch (e) {
  log('FAIL', e.message);
  failed = true;
}
for (const p of procs) p.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
