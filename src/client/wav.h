// 16-bit PCM WAV files: writing a recording, reading any rate and channel count (converted to
// 48 kHz mono by the caller's resampler).
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace wzp::client {

class WavWriter {
 public:
  // Throws std::runtime_error naming the file when it cannot be created.
  WavWriter(const std::string& path, uint32_t rate = 48000);
  ~WavWriter();  // patches the header's sizes
  void write(const int16_t* samples, size_t n);
  size_t samples() const { return samples_; }

 private:
  void header();
  std::ofstream out_;
  uint32_t rate_;
  size_t samples_ = 0;
};

struct WavData {
  uint32_t rate = 0;
  uint16_t channels = 0;
  std::vector<int16_t> mono;  // channels mixed down
};
// Throws std::runtime_error with the reason (not a WAV, not 16-bit PCM, truncated).
WavData read_wav(const std::string& path);

}  // namespace wzp::client
