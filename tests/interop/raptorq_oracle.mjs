// An independent RFC 6330 implementation (npm raptorq, the Rust crate built to WebAssembly)
// answering the C++ tests and benchmarks. Reads one job per line on stdin:
//   encode K T R        -> "K T <sha256 of repair symbols ESI K..K+R-1> <sha256 of source>"
//   encodepad K T R     -> as encode, for symbols under 64 bytes (which the package refuses):
//                          each T-byte symbol is zero-padded to 64 bytes, and the hash covers
//                          the first T bytes of each repair symbol
//   decode K T e1,e2,.. -> "ok" or "fail": can the block be decoded from exactly these ESIs?
//   bench K T SECONDS   -> "K T <encodes/s> <decodes/s>" (decode from K-1 source + 1 repair)
// ESIs here are RFC 6330's: repair symbols from K. The Rust crate labels its repair packets
// from K' instead (the ISI), so they are matched by position: its i-th repair packet is ESI K+i.
// Block data is the pattern the C++ side generates too: byte i = (i*131 + K*17 + T*3 + (i>>8)*7) & 255.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pkgDir = path.dirname(require.resolve('raptorq/package.json'));
const rq = await import(path.join(pkgDir, 'raptorq.js'));
rq.initSync(fs.readFileSync(path.join(pkgDir, 'raptorq_bg.wasm')));

function blockData(K, T) {
  const d = new Uint8Array(K * T);
  for (let i = 0; i < d.length; i++) d[i] = (i * 131 + K * 17 + T * 3 + (i >> 8) * 7) & 255;
  return d;
}

// Packets keyed by RFC ESI.
function packetsByEsi(K, T, repairs, data = blockData(K, T)) {
  const enc = rq.Encoder.with_defaults(data, T);
  const packets = [];
  for (const p of enc.encode(repairs)) {
    const ep = rq.EncodingPacket.deserialize(p);
    if (ep.source_block_number() !== 0) throw new Error(`K=${K} T=${T}: more than one source block`);
    packets.push({ label: ep.encoding_symbol_id(), raw: p, data: ep.data() });
    ep.free();
  }
  enc.free();
  packets.sort((x, y) => x.label - y.label);
  const out = new Map();
  packets.forEach((p, i) => {
    if (i < K && p.label !== i) throw new Error(`K=${K}: source packet ${i} labelled ${p.label}`);
    out.set(i, p);
  });
  return out;
}

const sha = (chunks) => {
  const h = crypto.createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};

const lines = fs.readFileSync(0, 'utf8').split('\n').filter(Boolean);
const out = [];
for (const line of lines) {
  const [cmd, a, b, c] = line.trim().split(/\s+/);
  const K = Number(a), T = Number(b);
  if (cmd === 'encode') {
    const R = Number(c);
    const pk = packetsByEsi(K, T, R);
    const src = [], rep = [];
    for (let e = 0; e < K; e++) src.push(pk.get(e).data);
    for (let e = K; e < K + R; e++) {
      if (!pk.has(e)) throw new Error(`K=${K}: no repair ESI ${e}`);
      rep.push(pk.get(e).data);
    }
    out.push(`${K} ${T} ${sha(rep)} ${sha(src)}`);
  } else if (cmd === 'encodepad') {
    const R = Number(c);
    const small = blockData(K, T);
    const padded = new Uint8Array(K * 64);
    for (let i = 0; i < K; i++) padded.set(small.subarray(i * T, (i + 1) * T), i * 64);
    const pk = packetsByEsi(K, 64, R, padded);
    const rep = [];
    for (let e = K; e < K + R; e++) rep.push(pk.get(e).data.subarray(0, T));
    out.push(`${K} ${T} ${sha(rep)}`);
  } else if (cmd === 'decode') {
    const esis = c.split(',').map(Number);
    const pk = packetsByEsi(K, T, Math.max(...esis) - K + 1 > 0 ? Math.max(...esis) - K + 1 : 0);
    const dec = rq.Decoder.with_defaults(BigInt(K * T), T);
    let result;
    for (const e of esis) {
      result = dec.decode(pk.get(e).raw);
      if (result) break;
    }
    dec.free();
    out.push(result ? 'ok' : 'fail');
  } else if (cmd === 'bench') {
    const secs = Number(c);
    const data = blockData(K, T);
    let n = 0, t0 = process.hrtime.bigint(), deadline = t0 + BigInt(Math.round(secs * 1e9));
    let pkts;
    do {
      const enc = rq.Encoder.with_defaults(data, T);
      pkts = enc.encode(1);
      enc.free();
      n++;
    } while (process.hrtime.bigint() < deadline);
    const encRate = n / (Number(process.hrtime.bigint() - t0) / 1e9);
    const chosen = pkts.slice(1);  // lose source symbol 0, keep the repair symbol
    n = 0; t0 = process.hrtime.bigint(); deadline = t0 + BigInt(Math.round(secs * 1e9));
    do {
      const dec = rq.Decoder.with_defaults(BigInt(K * T), T);
      let r;
      for (const p of chosen) { r = dec.decode(p); if (r) break; }
      if (!r) throw new Error('bench decode failed');
      dec.free();
      n++;
    } while (process.hrtime.bigint() < deadline);
    const decRate = n / (Number(process.hrtime.bigint() - t0) / 1e9);
    out.push(`${K} ${T} ${encRate.toFixed(1)} ${decRate.toFixed(1)}`);
  } else {
    throw new Error(`unknown job: ${line}`);
  }
}
process.stdout.write(out.join('\n') + '\n');
