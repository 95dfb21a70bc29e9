// Capture: the microphone's 128-sample blocks, gathered into 20 ms frames (960 samples at the
// context's 48 kHz) and handed to the page a frame at a time: 50 messages a second instead of 375,
// each a buffer given away rather than copied. Kept trivial so that the audio thread never waits.
const FRAME = 960;
class WzpCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Float32Array(FRAME);
    this.filled = 0;
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    for (let i = 0; i < ch.length; ) {
      const n = Math.min(ch.length - i, FRAME - this.filled);
      this.frame.set(ch.subarray(i, i + n), this.filled);
      this.filled += n;
      i += n;
      if (this.filled === FRAME) {
        this.port.postMessage(this.frame, [this.frame.buffer]);
        this.frame = new Float32Array(FRAME);
        this.filled = 0;
      }
    }
    return true;
  }
}
registerProcessor('wzp-capture', WzpCapture);
