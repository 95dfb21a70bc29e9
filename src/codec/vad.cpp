#include "codec/vad.h"

#include <algorithm>
#include <cmath>

namespace wzp::codec {

double rms(std::span<const int16_t> pcm) {
  double sum = 0;
  for (int16_t s : pcm) sum += static_cast<double>(s) * s;
  return pcm.empty() ? 0 : std::sqrt(sum / static_cast<double>(pcm.size()));
}

bool Vad::process(std::span<const int16_t> frame) {
  rms_ = rms(frame);
  // Minimum statistics: the floor is the quietest frame of the last second, which speech
  // (with its pauses between words) never lifts but steady background noise does.
  history_[next_] = rms_;
  next_ = (next_ + 1) % history_.size();
  floor_ = *std::min_element(history_.begin(), history_.end());
  const bool speech = rms_ > std::max(config_.rms_threshold, floor_ * config_.floor_factor);
  if (speech) {
    hangover_ = config_.hangover_frames;
    return true;
  }
  if (hangover_ > 0) {
    --hangover_;
    return true;
  }
  return false;
}

}  // namespace wzp::codec
