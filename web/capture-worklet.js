// Capture: the microphone's 128-sample blocks go to the page as they come; the page frames
// them into 20 ms. Kept trivial so that the audio thread never waits.
class WzpCapture extends AudioWorkletProcessor {
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) this.port.postMessage(ch.slice(0));
    return true;
  }
}
registerProcessor('wzp-capture', WzpCapture);
