// The WarzonePhone page: joins the room in its URL through the bridge's WebSocket. Capture and
// playout run in AudioWorklets; the bridge does everything else (it is a full participant:
// encryption, FEC, jitter buffer, reconnection), so this page only moves 20 ms frames of
// 48 kHz 16-bit PCM and shows what the bridge reports.
const FRAME = 960;
const room = decodeURIComponent(location.pathname.slice(1)) || 'lobby';
const $ = (id) => document.getElementById(id);

// What tests (and curious users, from the console) can read.
// The last two seconds of 16-bit samples, kept in a ring (tests read them with last(n)).
class SampleTail {
  constructor(n) {
    this.ring = new Int16Array(n);
    this.count = 0;
  }
  push(v) {
    this.ring[this.count++ % this.ring.length] = v;
  }
  last(n) {
    n = Math.min(n, this.count, this.ring.length);
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.ring[(this.count - n + i) % this.ring.length];
    return out;
  }
}
const wzp = (window.wzp = {
  state: 'idle', framesSent: 0, framesHeard: 0, heard: new SampleTail(96000), sent: new SampleTail(96000),
  events: [], memberEvents: [],
});

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
  location.hash = 'secret=' + hex(crypto.getRandomValues(new Uint8Array(16)));
  location.reload();
});

// The page's identity: a seed kept in this browser's storage for this site, lent to the bridge
// for each call, so that it is the same identity after a rejoin, a bridge restart or a reload
// (the safety numbers others compared stay true). Clearing the site's data makes a new one.
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
let seed = localStorage.getItem('wzp.seed') || '';
if (!/^[0-9a-f]{64}$/.test(seed)) {
  seed = hex(crypto.getRandomValues(new Uint8Array(32)));
  localStorage.setItem('wzp.seed', seed);
}

let ws, ctx, capture, playback, stream, source;
let muted = false, talking = false, pttMode = false;
let listenOnly = false, leaving = false, attempts = 0, retry = null;

$('room').textContent = room;
$('name').value = localStorage.getItem('wzp.name') || '';
$('join').addEventListener('click', () => join(false));
$('listen').addEventListener('click', () => join(true));
$('leave').addEventListener('click', leave);
$('mute').addEventListener('click', () => setMuted(!muted));
$('mic-in-call').addEventListener('change', () => switchMicrophone($('mic-in-call').value));
$('copy-link').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(location.href);
    banner('green', 'link copied: whoever opens it joins this call');
  } catch {
    prompt('Copy this address:', location.href);  // no clipboard on a plain-HTTP page
  }
});
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

function transmitting() { return !listenOnly && !muted && (!pttMode || talking); }
function updateTx() {
  $('mute').textContent = muted ? 'Unmute' : 'Mute';
  $('mute').classList.toggle('active', muted);
  ptt.classList.toggle('active', pttMode && talking);
  wzp.muted = !transmitting();
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

// The microphones the browser offers (named once it has allowed one).
async function listMicrophones() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
  const mics = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput');
  // The same list before the call and in it (where a choice switches at once).
  for (const id of ['mic', 'mic-in-call']) {
    const chosen = $(id).value;
    $(id).replaceChildren(new Option('default microphone', ''));
    mics.forEach((d, i) => { if (d.deviceId && d.deviceId !== 'default') $(id).add(new Option(d.label || `microphone ${i + 1}`, d.deviceId)); });
    $(id).value = chosen;
  }
}

// Opens a microphone (the default one for an empty id) and feeds it to the capture worklet in
// place of the one before, which is then released: a switch in the call costs no gap the others
// notice. The browser's echo cancellation, noise suppression and gain control are on;
// `?processing=off` turns them off (a measurement with a steady test tone, which noise
// suppression would rightly remove).
async function useMicrophone(deviceId) {
  const processing = new URLSearchParams(location.search).get('processing') !== 'off';
  const audio = { echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing, channelCount: 1 };
  if (deviceId) audio.deviceId = { exact: deviceId };
  const next = await navigator.mediaDevices.getUserMedia({ audio });
  const node = ctx.createMediaStreamSource(next);
  node.connect(capture);
  if (source) source.disconnect();
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = next;
  source = node;
  wzp.microphone = next.getAudioTracks()[0]?.label || '';
  $('mic').value = $('mic-in-call').value = deviceId;
}

async function switchMicrophone(deviceId) {
  if (!ctx || !capture || listenOnly) return;
  try {
    await useMicrophone(deviceId);
    banner('green', `microphone: ${wzp.microphone || 'default'}`);
  } catch (err) {
    banner('red', 'microphone: ' + err.message + ' (the one before stays on)');
    $('mic-in-call').value = $('mic').value;
  }
}
listMicrophones();

// Joins the call: with the microphone, or (`listen`) to hear the room and send nothing.
async function join(listen) {
  listenOnly = listen;
  wzp.listenOnly = listen;
  if (!listen && !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
    // Browsers offer the microphone to secure pages only (HTTPS, or this machine's own address).
    banner('red', 'the microphone needs a secure page: open this call over https:// (wzp-web --tls) ' +
                  'or on localhost, or join with "Listen only"');
    return;
  }
  $('join').disabled = $('listen').disabled = true;
  localStorage.setItem('wzp.name', $('name').value.trim());
  try {
    ctx = new AudioContext({ sampleRate: 48000 });
    await ctx.audioWorklet.addModule('/static/playback-worklet.js');
    playback = new AudioWorkletNode(ctx, 'wzp-playback');
    playback.connect(ctx.destination);
    if (!listen) {
      await ctx.audioWorklet.addModule('/static/capture-worklet.js');
      capture = new AudioWorkletNode(ctx, 'wzp-capture');
      capture.port.onmessage = (e) => onCaptured(e.data);
      await useMicrophone($('mic').value);
      listMicrophones();
    }
    await ctx.resume();
  } catch (err) {
    banner('red', 'microphone: ' + err.message + ' (you can still join with "Listen only")');
    stopAudio();
    $('join').disabled = $('listen').disabled = false;
    return;
  }
  leaving = false;
  attempts = 0;
  connect();
  $('prejoin').hidden = true;
  $('incall').hidden = false;
  $('mute').disabled = $('ptt').disabled = $('mic-in-call').disabled = listen;
  $('join').disabled = $('listen').disabled = false;
}

function stopAudio() {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  if (ctx) ctx.close();
  stream = ctx = capture = playback = source = null;
  showLevel(0);
}

// Leaves the call: the bridge hangs up at once; the page stays, ready to join again.
function leave() {
  leaving = true;
  clearTimeout(retry);
  if (ws) ws.close(1000, 'left');
  stopAudio();
  wzp.state = 'left';
  $('incall').hidden = true;
  $('prejoin').hidden = false;
  $('join').textContent = 'Join again';
  $('expect').disabled = false;
  renderMembers([]);
  setQuality(null);
  banner('amber', 'you left the call');
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const expect = $('expect').value.split(/[\s,]+/).filter(Boolean).join(',');
  $('expect').disabled = true;
  const params = new URLSearchParams();
  if (expect) params.set('expect', expect);
  if (secret) params.set('secret', secret);
  const name = $('name').value.trim();
  if (name) params.set('name', name);
  params.set('seed', seed);
  const query = params.toString() ? '?' + params.toString() : '';
  const socket = (ws = new WebSocket(`${proto}//${location.host}/ws/${encodeURIComponent(room)}${query}`));
  socket.binaryType = 'arraybuffer';
  wzp.state = 'connecting';
  socket.onopen = () => {
    wzp.state = 'open';
    wzp.opens = (wzp.opens || 0) + 1;
    attempts = 0;
    updateTx();
    for (const [fingerprint, gain] of volumes) socket.send(JSON.stringify({ type: 'volume', fingerprint, gain }));
  };
  socket.onmessage = (e) => {
    if (socket !== ws || leaving) return;  // what an old connection still had on its way
    if (typeof e.data === 'string') onControl(JSON.parse(e.data));
    else onAudio(e.data);
  };
  socket.onclose = (e) => {
    if (socket !== ws || leaving) return;
    // The bridge went away (restarted, or the network dropped us): join again on our own, on a
    // backoff, without a reload. The bridge gives the page a fresh participant.
    const delay = Math.min(5000, 500 * 2 ** attempts++);
    wzp.state = 'reconnecting';
    setQuality(null);
    banner('amber', `lost the bridge${e.reason ? ' (' + e.reason + ')' : ''}: joining again in ${(delay / 1000).toFixed(1)} s…`);
    retry = setTimeout(connect, delay);
  };
}

// 20 ms frames from the worklet, sent as little-endian 16-bit PCM. The level meter moves ten
// times a second (every fifth frame), which is all an eye follows.
let levelFrames = 0;
function onCaptured(frame) {
  if (levelFrames++ % 5 === 0) {
    let sum = 0;
    for (let i = 0; i < frame.length; i++) sum += frame[i] * frame[i];
    showLevel(Math.min(1, Math.sqrt(sum / frame.length) * 3));
  }
  denoiseFrame(frame);
  if (!ws || ws.readyState !== WebSocket.OPEN || !transmitting()) return;
  const out = new DataView(new ArrayBuffer(FRAME * 2));
  for (let i = 0; i < FRAME; i++) {
    const v = Math.max(-32768, Math.min(32767, Math.round(frame[i] * 32767)));
    out.setInt16(i * 2, v, true);
    wzp.sent.push(v);
  }
  ws.send(out.buffer);
  wzp.framesSent++;
}

// The meter is scaled rather than resized, which the compositor does without a layout.
function showLevel(share) {
  $('level').style.transform = `scaleX(${share.toFixed(2)})`;
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
  wzp.framesHeard++;
  if (playback) playback.port.postMessage(f, [f.buffer]);
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
    renderMembers(m.members);
    setQuality(m);
  } else if (m.type === 'speaking') {
    wzp.speaking = m.sessions;
    for (const [session, li] of rows) li.classList.toggle('speaking', m.sessions.includes(session));
  } else if (m.type === 'member') {
    onMember(m);
  } else if (m.type === 'error') {
    banner('red', m.reason);
  }
}

// The participant list, one row per session, updated in place (a volume slider being dragged
// is not rebuilt under the pointer).
const rows = new Map();
const volumes = new Map();  // fingerprint -> gain, this page's own mix
function renderMembers(list) {
  const ul = $('members');
  const seen = new Set();
  for (const p of list) {
    seen.add(p.session);
    let li = rows.get(p.session);
    if (!li) {
      li = document.createElement('li');
      li.className = 'member';
      li.innerHTML = '<div class="who"><span class="dot"></span><b class="name"></b> <span class="tag mic">muted</span>' +
                     ' <span class="tag warn unexpected">not expected: hears nothing of you</span></div>' +
                     '<label class="volume small">volume <input type="range" min="0" max="200" step="5" value="100"><span>100 %</span></label>' +
                     '<code class="fp"></code><code class="safety"></code>';
      const slider = li.querySelector('input');
      slider.value = Math.round((volumes.get(p.fingerprint) ?? 1) * 100);
      li.querySelector('.volume span').textContent = slider.value + ' %';
      slider.addEventListener('input', () => {
        const gain = slider.value / 100;
        li.querySelector('.volume span').textContent = slider.value + ' %';
        volumes.set(p.fingerprint, gain);
        if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'volume', fingerprint: p.fingerprint, gain }));
      });
      rows.set(p.session, li);
      ul.append(li);
    }
    li.querySelector('.name').textContent = p.name || 'anonymous';
    li.querySelector('.mic').hidden = !p.muted;
    li.querySelector('.unexpected').hidden = p.expected;
    li.querySelector('.fp').textContent = p.fingerprint;
    li.querySelector('.safety').textContent = p.safety_number ? 'safety number ' + p.safety_number : '';
    li.classList.toggle('speaking', !!p.speaking);
    li.classList.toggle('is-muted', !!p.muted);
  }
  for (const [session, li] of rows) {
    if (!seen.has(session)) { li.remove(); rows.delete(session); }
  }
  if (!list.length && !ul.querySelector('.nobody')) ul.insertAdjacentHTML('beforeend', '<li class="muted nobody">nobody yet</li>');
  if (list.length) ul.querySelectorAll('.nobody').forEach((n) => n.remove());
  wzp.members = list.length;
  wzp.memberList = list;
}

// Three bars from what the call reports: its tier and the loss it sees; none while away.
function setQuality(m) {
  let bars = 0;
  if (m && m.connected && !m.reconnecting) {
    bars = m.tier === 'good' && m.loss_percent < 5 ? 3 : m.tier === 'catastrophic' || m.loss_percent >= 20 ? 1 : 2;
  }
  $('quality').className = 'quality q' + bars;
  $('quality').title = ['not connected', 'poor connection', 'fair connection', 'good connection'][bars];
  wzp.quality = bars;
}
setQuality(null);
