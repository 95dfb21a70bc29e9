#include "proto/signal_framing.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include "proto/bytes.h"
#include "proto/media_frame.h"

namespace wzp::proto {

std::vector<uint8_t> frame_signal(const SignalMessage& msg) {
  const std::string text = encode_signal(msg);
  std::vector<uint8_t> out(kSignalLengthBytes + text.size());
  store_be32(out.data(), static_cast<uint32_t>(text.size()));
  std::copy(text.begin(), text.end(), out.begin() + kSignalLengthBytes);
  return out;
}

std::vector<uint8_t> signal_datagram(const SignalMessage& msg) {
  const std::string text = encode_signal(msg);
  std::vector<uint8_t> out(1 + text.size());
  out[0] = static_cast<uint8_t>(FrameTag::kSignal);
  std::copy(text.begin(), text.end(), out.begin() + 1);
  return out;
}

Result<SignalMessage> parse_signal_datagram(std::span<const uint8_t> datagram) {
  if (datagram.empty()) return Error{Errc::kTruncated, "empty datagram"};
  if (datagram[0] != static_cast<uint8_t>(FrameTag::kSignal)) {
    return Error{Errc::kUnknownFrame, "not a signalling datagram"};
  }
  if (datagram.size() > kMaxSignalDatagram)
    return Error{Errc::kTooLarge, "signalling datagram over 1024 bytes"};
  const auto body = datagram.subspan(1);
  return decode_signal(std::string_view(reinterpret_cast<const char*>(body.data()), body.size()));
}

int signal_copies(double loss_percent) {
  if (!(loss_percent >= 20.0)) return 0;
  const double p = std::min(loss_percent, 99.0) / 100.0;
  return std::clamp(static_cast<int>(std::ceil(std::log(0.05) / std::log(p))), 1, kMaxSignalCopies);
}

Status SignalFrameReader::feed(std::span<const uint8_t> bytes) {
  while (!failed_ && !bytes.empty()) {
    if (len_have_ < kSignalLengthBytes) {
      const size_t n = std::min(kSignalLengthBytes - len_have_, bytes.size());
      std::copy_n(bytes.begin(), n, len_buf_ + len_have_);
      len_have_ += n;
      bytes = bytes.subspan(n);
      if (len_have_ < kSignalLengthBytes) break;
      body_len_ = load_be32(len_buf_);
      if (body_len_ > max_frame_) {
        failed_ = true;
        break;
      }
      body_.clear();
      body_.reserve(body_len_);
    }
    const size_t n = std::min(body_len_ - body_.size(), bytes.size());
    body_.insert(body_.end(), bytes.begin(), bytes.begin() + n);
    bytes = bytes.subspan(n);
    if (body_.size() == body_len_) {
      ready_.push_back(std::move(body_));
      body_ = {};
      len_have_ = 0;
    }
  }
  if (failed_) return Error{Errc::kTooLarge, "signal frame over the size limit"};
  return ok_status();
}

std::optional<Result<SignalMessage>> SignalFrameReader::next() {
  if (ready_.empty()) return std::nullopt;
  const std::vector<uint8_t> frame = std::move(ready_.front());
  ready_.pop_front();
  return decode_signal(std::string_view(reinterpret_cast<const char*>(frame.data()), frame.size()));
}

}  // namespace wzp::proto
