#include "relay/trunk_batcher.h"

#include <algorithm>

namespace wzp::relay {

TrunkBatcher::TrunkBatcher(proto::Scheduler& scheduler, RelayStats& stats, uint64_t flush_ms)
    : scheduler_(scheduler), stats_(stats), flush_ms_(std::max<uint64_t>(flush_ms, 1)) {}

TrunkBatcher::~TrunkBatcher() { stop(); }

void TrunkBatcher::stop() {
  if (timer_) scheduler_.cancel(timer_);
  timer_ = 0;
}

std::optional<std::span<const uint8_t>> TrunkBatcher::single_frame(
    proto::TrunkBuilder& single, uint16_t from, std::span<const uint8_t> datagram) {
  single.clear();
  if (!single.try_add(from, datagram)) return std::nullopt;
  return single.bytes();
}

void TrunkBatcher::deliver(Session& to, uint16_t from, std::span<const uint8_t> datagram,
                           bool batch) {
  if (!batch) {
    const auto frame = single_frame(single_, from, datagram);
    if (!frame) {
      ++stats_.dropped_oversized;
      return;
    }
    if (to.peer->send_datagram(*frame)) {
      ++stats_.datagrams_out;
      stats_.bytes_out += frame->size();
    } else {
      ++stats_.dropped_send;  // one receiver's trouble is not the others'
    }
    return;
  }
  // Frames sized to the receiver's path: its current QUIC payload limit less the packet's own
  // overhead (short header, DATAGRAM frame header, AEAD tag).
  auto& b = to.batch;
  const size_t mtu = std::max<size_t>(to.peer->stats().max_udp_payload, 1200) - 63;
  if (!b.frame || (b.frame->empty() && b.mtu != mtu)) {
    b.frame.emplace(proto::TrunkLimits{.max_entries = 10, .max_bytes = mtu});
    b.mtu = mtu;
  }
  if (!b.frame->try_add(from, datagram)) {
    flush(to);
    if (!b.frame->try_add(from, datagram)) {
      ++stats_.dropped_send;
      return;
    }
  }
  if (!b.pending) {
    b.pending = true;
    pending_.push_back(&to);
  }
  if (!timer_) {
    timer_ = scheduler_.call_after(flush_ms_, [this] {
      timer_ = 0;
      flush_all();
    });
  }
}

void TrunkBatcher::flush(Session& s) {
  auto& b = s.batch;
  if (!b.frame || b.frame->empty()) return;
  const auto frame = b.frame->bytes();
  if (s.peer->send_datagram(frame)) {
    stats_.datagrams_out += b.frame->count();
    stats_.bytes_out += frame.size();
    ++stats_.trunk_frames;
    stats_.trunk_entries += b.frame->count();
  } else {
    stats_.dropped_send += b.frame->count();
  }
  b.frame->clear();
}

void TrunkBatcher::flush_all() {
  for (Session* s : pending_) {
    s->batch.pending = false;
    flush(*s);
  }
  pending_.clear();
}

void TrunkBatcher::forget(Session& s) {
  std::erase(pending_, &s);
  s.batch.pending = false;
}

}  // namespace wzp::relay
