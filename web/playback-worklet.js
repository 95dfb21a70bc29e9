// Playback: 20 ms frames from the bridge into a ring; the audio thread plays from it and
// plays silence when it runs dry (the bridge's jitter buffer has already concealed loss).
class WzpPlayback extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ring = new Float32Array(48000);  // one second at most
    this.read = 0;
    this.write = 0;
    this.port.onmessage = (e) => {
      const f = e.data;
      for (let i = 0; i < f.length; i++) {
        if (this.write - this.read >= this.ring.length) this.read++;  // drop the oldest
        this.ring[this.write++ % this.ring.length] = f[i];
      }
    };
  }
  process(_, outputs) {
    const out = outputs[0][0];
    for (let i = 0; i < out.length; i++) {
      out[i] = this.read < this.write ? this.ring[this.read++ % this.ring.length] : 0;
    }
    return true;
  }
}
registerProcessor('wzp-playback', WzpPlayback);
