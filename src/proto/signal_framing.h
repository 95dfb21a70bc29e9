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

// Signalling in a datagram: [tag 0x05][the message's JSON]. For the messages that are worth
// more on time than in order, a receiver's QualityUpdate, the relay's QualityDirective and a
// member's SenderKey: over a path that loses most packets, a message on the stream waits behind
// retransmissions whose timer doubles each time, while copies in datagrams arrive within a
// frame or two. They go alongside the stream copy; reports carry its `seq` and the receiver
// keeps only the newest, keys are taken once by their key id (docs/PROTOCOL.md §1). A SenderKey
// is about 700 bytes of JSON.
inline constexpr size_t kMaxSignalDatagram = 1024;
std::vector<uint8_t> signal_datagram(const SignalMessage& msg);
// The message in a datagram whose first byte is the tag; an error for anything else, or one
// over kMaxSignalDatagram.
Result<SignalMessage> parse_signal_datagram(std::span<const uint8_t> datagram);
// How many datagram copies a message is worth on a path losing `loss_percent` of its packets:
// none under 20 % (the stream copy is soon there), then enough for 95 % of messages to arrive
// with one copy, at most kMaxSignalCopies (at 80 % loss, 74 % of them).
inline constexpr int kMaxSignalCopies = 6;
int signal_copies(double loss_percent);

// The receiving side of those copies: take() is true once per seq and never for one older than
// the last taken (a late stream copy does not undo a newer report). A message without a seq is
// always taken: its sender numbers nothing.
class NewestSeq {
 public:
  bool take(std::optional<uint32_t> seq) {
    if (!seq) return true;
    if (have_ && *seq <= last_) return false;
    have_ = true;
    last_ = *seq;
    return true;
  }
  void reset() { have_ = false; }

 private:
  bool have_ = false;
  uint32_t last_ = 0;
};

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
