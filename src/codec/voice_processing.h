// Capture-side voice processing with the WebRTC audio processing module: noise suppression,
// automatic gain control and acoustic echo cancellation, each switchable. Works on 48 kHz
// mono in 10 ms chunks internally; callers pass whole 20 ms frames.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

namespace wzp::codec {

struct VoiceProcessingConfig {
  bool noise_suppression = true;
  bool gain_control = true;
  bool echo_cancellation = false;  // needs the far-end signal through render()
  int echo_delay_ms = 60;          // speaker-to-microphone delay hint for the canceller
};

class VoiceProcessor {
 public:
  explicit VoiceProcessor(const VoiceProcessingConfig& config = {});
  ~VoiceProcessor();
  VoiceProcessor(const VoiceProcessor&) = delete;
  VoiceProcessor& operator=(const VoiceProcessor&) = delete;

  // Cleans one captured frame in place (a multiple of 10 ms).
  void capture(std::span<int16_t> frame);
  // Tells the echo canceller what the speaker is about to play (a multiple of 10 ms).
  void render(std::span<const int16_t> frame);
  const VoiceProcessingConfig& config() const { return config_; }

 private:
  struct Impl;
  VoiceProcessingConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wzp::codec
