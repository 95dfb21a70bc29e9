// The echo test's signal and its judge. Each one-second window sends 800 ms of a tone (440,
// 660 and 880 Hz in turn) and 200 ms of silence; what comes back is matched window by window:
// the tone's onset gives the delay, its purity the signal-to-noise ratio, its pitch the
// frequency fidelity. Works on any path that returns what was sent: the relay's echo room,
// or a loop in a test.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace wzp::client {

struct EchoWindow {
  int index = 0;
  double freq_sent = 0, freq_heard = 0;
  double delay_ms = 0;
  double snr_db = 0;
  bool heard = false;
  double loss_percent = 0;  // filled in by the caller (the decoder's view of that second)
};

class EchoProbe {
 public:
  static constexpr uint32_t kRate = 48000;
  static constexpr double kFreqs[] = {440, 660, 880};

  explicit EchoProbe(double amplitude = 8000) : amplitude_(amplitude) {}
  // The next 20 ms to send.
  void fill(std::span<int16_t> pcm);
  // The next 20 ms played back.
  void heard(std::span<const int16_t> pcm);
  // Windows whose answer has had time to arrive (up to 1 s late), measured once each.
  std::vector<EchoWindow> take_finished();
  static std::string verdict(const std::vector<EchoWindow>& all);

 private:
  EchoWindow measure(int index) const;
  double amplitude_;
  uint64_t sent_ = 0;
  std::vector<int16_t> received_;
  int next_window_ = 0;
};

}  // namespace wzp::client
