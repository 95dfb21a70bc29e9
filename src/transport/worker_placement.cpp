#include "transport/worker_placement.h"

#include <algorithm>
#include <stdexcept>

#include "transport/quic_internal.h"

namespace wzp::transport {

WorkerPlacement::WorkerPlacement(size_t workers) : load_(workers, 0) {
  if (workers == 0 || workers > 256) throw std::invalid_argument("quic: 1 to 256 workers");
  random_bytes(secret_.data(), secret_.size());
}

size_t WorkerPlacement::place(uint8_t byte, uint64_t now_ms) {
  const std::lock_guard lock(m_);
  Byte& b = bytes_[byte];
  if (b.placed && (b.live > 0 || now_ms - b.touched_ms <= kHoldMs)) {
    b.touched_ms = std::max(b.touched_ms, now_ms);
    return b.worker;
  }
  const size_t named = byte % load_.size();
  const size_t least =
      static_cast<size_t>(std::min_element(load_.begin(), load_.end()) - load_.begin());
  size_t total = 0;
  for (const size_t l : load_) total += l;
  const size_t margin = std::max<size_t>(4, total / 32);
  b.worker = load_[named] <= load_[least] + margin ? named : least;
  b.placed = true;
  b.touched_ms = now_ms;
  return b.worker;
}

void WorkerPlacement::opened(uint8_t byte, size_t worker, uint64_t now_ms) {
  const std::lock_guard lock(m_);
  Byte& b = bytes_[byte];
  ++b.live;
  b.touched_ms = std::max(b.touched_ms, now_ms);
  ++load_.at(worker);
}

void WorkerPlacement::closed(uint8_t byte, size_t worker, uint64_t now_ms) {
  const std::lock_guard lock(m_);
  Byte& b = bytes_[byte];
  if (b.live > 0) --b.live;
  b.touched_ms = std::max(b.touched_ms, now_ms);
  if (load_.at(worker) > 0) --load_[worker];
}

size_t WorkerPlacement::load(size_t worker) const {
  const std::lock_guard lock(m_);
  return load_.at(worker);
}

}  // namespace wzp::transport
