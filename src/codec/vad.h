// Voice activity detection by frame energy, with a hangover so that word endings and short
// pauses are not clipped. The threshold follows the background noise floor upward, so a noisy
// room does not count as speech throughout.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace wzp::codec {

struct VadConfig {
  double rms_threshold = 100;    // 16-bit RMS below which a frame is never speech
  double floor_factor = 3.0;     // speech must also be this far above the noise floor
  uint32_t hangover_frames = 5;  // 100 ms at 20 ms frames
  uint32_t floor_window = 50;    // frames over which the noise floor is the quietest frame
};

class Vad {
 public:
  explicit Vad(const VadConfig& config = {})
      : config_(config), history_(config.floor_window, config.rms_threshold) {}
  // True while the frame is speech or within the hangover after speech.
  bool process(std::span<const int16_t> frame);
  double noise_floor() const { return floor_; }
  double last_rms() const { return rms_; }

 private:
  VadConfig config_;
  std::vector<double> history_;  // recent frame RMS values, a ring
  size_t next_ = 0;
  double floor_ = 0;
  double rms_ = 0;
  uint32_t hangover_ = 0;
};

double rms(std::span<const int16_t> pcm);

}  // namespace wzp::codec
