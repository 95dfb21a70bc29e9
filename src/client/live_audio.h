// Microphone and speaker through PortAudio (wzp-client --live): 48 kHz mono 16-bit, 20 ms
// buffers. The audio callbacks only copy into and out of lock-free single-producer rings; the
// call's 20 ms tick takes captured frames and gives playout frames on the event loop's thread.
// open() fails with a clear reason when there is no device (a server, a container).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace wzp::client {

// A fixed-size single-producer single-consumer ring of samples.
class SampleRing {
 public:
  explicit SampleRing(size_t capacity) : buf_(capacity) {}
  size_t write(std::span<const int16_t> in);  // returns samples written (drops the rest)
  size_t read(std::span<int16_t> out);        // returns samples read (the rest untouched)
  size_t available() const {
    return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire);
  }

 private:
  std::vector<int16_t> buf_;
  std::atomic<size_t> head_{0}, tail_{0};
};

class LiveAudio {
 public:
  // Opens the default input and output devices; on failure returns null and sets *error.
  static std::unique_ptr<LiveAudio> open(std::string* error);
  ~LiveAudio();
  // 20 ms captured (zeros if the microphone is behind); false when nothing was there.
  bool capture(std::span<int16_t> pcm);
  // 20 ms to play.
  void play(std::span<const int16_t> pcm);
  uint64_t overruns() const { return overruns_; }

 private:
  LiveAudio();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t overruns_ = 0;
};

}  // namespace wzp::client
