// Signalling frames on the reliable stream: a u32 big-endian length, then that many bytes of
// JSON (one SignalMessage). A length over the limit is refused before any of the frame is
// buffered, and the reader then stays failed: the stream cannot be resynchronised.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "proto/result.h"
#include "proto/signal_message.h"

namespace wzp::proto {

inline constexpr size_t kSignalLengthBytes = 4;
inline constexpr size_t kMaxSignalFrame = 64 * 1024;

std::vector<uint8_t> frame_signal(const SignalMessage& msg);

class SignalFrameReader {
 public:
  explicit SignalFrameReader(size_t max_frame = kMaxSignalFrame) : max_frame_(max_frame) {}

  // Consumes stream bytes. Returns an error (and stays failed) on an oversized frame.
  Status feed(std::span<const uint8_t> bytes);
  // The next complete message, decoded; nullopt while no complete frame is buffered. A frame
  // that is not a valid message yields its error and the reader carries on with the next.
  std::optional<Result<SignalMessage>> next();
  bool failed() const { return failed_; }
  size_t buffered() const { return body_.size(); }

 private:
  size_t max_frame_;
  bool failed_ = false;
  uint8_t len_buf_[kSignalLengthBytes] = {};
  size_t len_have_ = 0;
  size_t body_len_ = 0;
  std::vector<uint8_t> body_;
  std::deque<std::vector<uint8_t>> ready_;
};

}  // namespace wzp::proto
