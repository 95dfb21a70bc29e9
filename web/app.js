// The WarzonePhone page: joins the room in its URL through the bridge's WebSocket. Capture and
// playout run in AudioWorklets; the bridge does everything else (it is a full participant:
// encryption, FEC, jitter buffer, reconnection), so this page only moves 20 ms frames of
// 48 kHz 16-bit PCM and shows what the bridge reports.
const FRAME = 960;
const room = decodeURIComponent(location.pathname.slice(1)) || 'lobby';
const $ = (id) => document.getElementById(id);

// What tests (and curious users, from the console) can read.
const wzp = (window.wzp = { state: 'idle', framesSent: 0, framesHeard: 0, heard: [], sent: [], events: [], memberEvents: [] });

// `?expect=FP,FP` in the page's address fills the field: the call hands its key to them only.
$('expect').value = new URLSearchParams(location.search).get('expect') || '';

// `#secret=HEX` (32 hex digits) makes it the invite-only room of that name and secret: the
// relay admits only those who hold it. The fragment never leaves the browser except on our
// own WebSocket to the bridge. Without it the room is open to anyone who knows its name.
const secret = new URLSearchParams(location.hash.slice(1)).get('secret') || '';
$('access').textContent = secret ? 'invite-only' : 'open room';
$('access').title = secret ? 'The relay admits only those who hold this address\'s secret'
                           : 'Anyone who knows (or guesses) the room\'s name can join';
$('access').className = secret ? 'tag' : 'tag warn';
wzp.access = secret ? 'invite' : 'open';
$('make-invite').hidden = !!secret;
$('make-invite').addEventListener('click', (e) => {
  e.preventDefault();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  location.hash = 'secret=' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  location.reload();
});

let ws, ctx, capture, playback, stream;
let muted = false, talking = false, pttMode = false;
let pending = new Float32Array(0);

$('room').textContent = room;
$('join').addEventListener('click', join);
$('mute').addEventListener('click', () => setMuted(!muted));
$('ptt-mode').addEventListener('change', (e) => { pttMode = e.target.checked; updateTx(); });
const ptt = $('ptt');
ptt.addEventListener('pointerdown', () => { talking = true; updateTx(); });
ptt.addEventListener('pointerup', () => { talking = false; updateTx(); });
ptt.addEventListener('pointerleave', () => { talking = false; updateTx(); });
addEventListener('keydown', (e) => {
  if (e.code === 'Space' && !e.repeat && e.target.tagName !== 'INPUT') { talking = true; updateTx(); e.preventDefault(); }
});
addEventListener('keyup', (e) => {
  if (e.code === 'Space' && e.target.tagName !== 'INPUT') { talking = false; updateTx(); }
});
$('relay-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const relay = $('relay').value.trim();
  if (relay && ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'relay', relay }));
});
// RNNoise (WebAssembly, served by the bridge from npm's @shiguredo/rnnoise-wasm): an optional
// stage in the capture path, 480-sample frames at 48 kHz on the 16-bit scale.
let denoise = null;
$('rnnoise').addEventListener('change', async (e) => {
  if (!e.target.checked) { denoise = null; wzp.rnnoise = false; return; }
  try {
    const { Rnnoise } = await import('/vendor/rnnoise.js');
    const rn = await Rnnoise.load();
    denoise = rn.createDenoiseState();
    wzp.rnnoise = true;
  } catch (err) {
    e.target.checked = false;
    banner('red', 'RNNoise unavailable: ' + err.message);
  }
});
function denoiseFrame(frame) {
  if (!denoise) return;
  for (let off = 0; off < frame.length; off += 480) {
    const part = frame.subarray(off, off + 480);
    for (let i = 0; i < part.length; i++) part[i] *= 32767;
    denoise.processFrame(part);
    for (let i = 0; i < part.length; i++) part[i] /= 32767;
  }
}

function transmitting() { return !muted && (!pttMode || talking); }
function updateTx() {
  $('mute').textContent = muted ? 'Unmute' : 'Mute';
  $('mute').classList.toggle('active', muted);
  ptt.classList.toggle('active', pttMode && talking);
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'mute', on: !transmitting() }));
}
function setMuted(m) { muted = m; updateTx(); }

function banner(kind, text) {
  const b = $('banner');
  b.className = 'banner ' + kind;
  b.textContent = text;
  wzp.banner = { kind, text };
}

// Who is in the room: kept apart from the connection's banner, which changes all the time.
function alertBanner(kind, text) {
  const b = $('alert');
  b.className = 'banner ' + kind;
  b.textContent = text;
  wzp.alert = { kind, text };
}

async function join() {
  $('join').disabled = true;
  try {
    // The browser's echo cancellation, noise suppression and gain control are on; `?processing=off`
    // turns them off (a measurement with a steady test tone, which noise suppression would
    // rightly remove).
    const processing = new URLSearchParams(location.search).get('processing') !== 'off';
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing, channelCount: 1 },
    });
    ctx = new AudioContext({ sampleRate: 48000 });
    await ctx.audioWorklet.addModule('/static/capture-worklet.js');
    await ctx.audioWorklet.addModule('/static/playback-worklet.js');
    capture = new AudioWorkletNode(ctx, 'wzp-capture');
    playback = new AudioWorkletNode(ctx, 'wzp-playback');
    ctx.createMediaStreamSource(stream).connect(capture);
    playback.connect(ctx.destination);
    capture.port.onmessage = (e) => onCaptured(e.data);
    await ctx.resume();
  } catch (err) {
    banner('red', 'microphone: ' + err.message);
    $('join').disabled = false;
    return;
  }
  connect();
  $('mute').disabled = false;
  $('ptt').disabled = false;
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const expect = $('expect').value.split(/[\s,]+/).filter(Boolean).join(',');
  $('expect').disabled = true;
  const params = new URLSearchParams();
  if (expect) params.set('expect', expect);
  if (secret) params.set('secret', secret);
  const query = params.toString() ? '?' + params.toString() : '';
  ws = new WebSocket(`${proto}//${location.host}/ws/${encodeURIComponent(room)}${query}`);
  ws.binaryType = 'arraybuffer';
  wzp.state = 'connecting';
  ws.onopen = () => { wzp.state = 'open'; updateTx(); };
  ws.onmessage = (e) => (typeof e.data === 'string' ? onControl(JSON.parse(e.data)) : onAudio(e.data));
  ws.onclose = (e) => {
    wzp.state = 'closed';
    banner('red', 'bridge closed the connection' + (e.reason ? ': ' + e.reason : ''));
  };
}

// 128-sample blocks from the worklet, framed into 20 ms of little-endian 16-bit PCM.
function onCaptured(block) {
  let sum = 0;
  for (let i = 0; i < block.length; i++) sum += block[i] * block[i];
  $('level').style.width = Math.min(100, Math.sqrt(sum / block.length) * 300) + '%';
  const joined = new Float32Array(pending.length + block.length);
  joined.set(pending);
  joined.set(block, pending.length);
  pending = joined;
  while (pending.length >= FRAME) {
    const frame = pending.slice(0, FRAME);
    pending = pending.slice(FRAME);
    denoiseFrame(frame);
    if (!ws || ws.readyState !== WebSocket.OPEN || !transmitting()) continue;
    const out = new DataView(new ArrayBuffer(FRAME * 2));
    for (let i = 0; i < FRAME; i++) {
      const v = Math.max(-32768, Math.min(32767, Math.round(frame[i] * 32767)));
      out.setInt16(i * 2, v, true);
      wzp.sent.push(v);
    }
    if (wzp.sent.length > 96000) wzp.sent.splice(0, wzp.sent.length - 96000);
    ws.send(out.buffer);
    wzp.framesSent++;
  }
}

function onAudio(buf) {
  const view = new DataView(buf);
  const n = buf.byteLength / 2;
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = view.getInt16(i * 2, true);
    f[i] = s / 32768;
    wzp.heard.push(s);
  }
  if (wzp.heard.length > 96000) wzp.heard.splice(0, wzp.heard.length - 96000);  // the last 2 s
  wzp.framesHeard++;
  playback.port.postMessage(f, [f.buffer]);
}

// A join, leave or changed identity in the room: logged with the time and the fingerprint; a
// changed identity and a member we did not expect are also shown in the banner.
function onMember(m) {
  wzp.memberEvents.push(m);
  const name = m.name || 'anonymous';
  const li = document.createElement('li');
  const what = { joined: 'joined', left: 'left', identity_changed: 'came back with another identity' }[m.event] || m.event;
  li.append(`${new Date().toLocaleTimeString()} ${name} ${what} `);
  const code = document.createElement('code');
  code.textContent = m.fingerprint;
  li.append(code);
  if (m.event === 'identity_changed') li.className = 'bad';
  else if (m.event === 'joined' && !m.expected) li.className = 'warn';
  const log = $('member-log');
  log.prepend(li);
  while (log.children.length > 50) log.lastChild.remove();
  if (m.event === 'identity_changed') {
    alertBanner('red', `${name} came back with another identity (${m.fingerprint.slice(0, 9)}…): compare safety numbers before you trust it`);
  } else if (m.event === 'joined' && !m.expected) {
    alertBanner('amber', `${name} (${m.fingerprint.slice(0, 9)}…) is in the room but not expected: it hears nothing of you`);
  }
}

function onControl(m) {
  wzp.events.push(m.type === 'session' ? m.state : m.type);
  if (m.type === 'session') {
    if (m.state === 'reconnecting') banner('amber', `reconnecting to ${m.relay}…`);
    else if (m.state === 'registered') banner('green', `registered (${m.fingerprint.slice(0, 9)}…)`);
    else if (m.state === 'error') banner('red', m.reason);
  } else if (m.type === 'stats') {
    $('tier').textContent = m.reconnecting ? 'reconnecting' : m.tier;
    $('loss').textContent = m.loss_percent.toFixed(1) + ' %';
    $('rtt').textContent = Math.round(m.rtt_ms) + ' ms';
    $('delay').textContent = m.delay_ms + ' ms';
    $('me').textContent = m.fingerprint;
    wzp.me = m.fingerprint;
    $('relay-now').textContent = m.relay;
    wzp.access = m.access;  // what the bridge joined: "open" or "invite"
    wzp.connected = m.connected;
    const ul = $('members');
    ul.replaceChildren();
    if (!m.members.length) ul.innerHTML = '<li class="muted">nobody yet</li>';
    for (const p of m.members) {
      const li = document.createElement('li');
      li.append(p.name || 'anonymous');
      if (!p.expected) {
        const tag = document.createElement('span');
        tag.className = 'tag warn';
        tag.textContent = 'not expected: hears nothing of you';
        li.append(' ', tag);
      }
      li.append(document.createElement('br'));
      const code = document.createElement('code');
      code.textContent = p.fingerprint;
      li.append(code);
      if (p.safety_number) {
        const sn = document.createElement('code');
        sn.className = 'safety';
        sn.textContent = 'safety number ' + p.safety_number;
        li.append(document.createElement('br'), sn);
      }
      ul.append(li);
    }
    wzp.members = m.members.length;
    wzp.memberList = m.members;
  } else if (m.type === 'member') {
    onMember(m);
  } else if (m.type === 'error') {
    banner('red', m.reason);
  }
}
