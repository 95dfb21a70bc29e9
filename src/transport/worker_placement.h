// Where the new connections of a relay's workers go (the servers sharing one UDP port, each on
// a thread of its own: QuicWorker). The kernel hands a client's first Initial to the worker its
// first connection ID's first byte names (byte % workers), and our clients derive that byte
// from the room (QuicConfig::steer_by_sni), so a room arrives at one worker. A hash alone
// spreads few rooms unevenly (40 rooms on two workers came out 27 and 13), so the group keeps,
// for each first byte, the worker that serves it. A byte no live connection holds is placed
// afresh: on the worker it names, unless that worker holds more connections than the least
// loaded by more than a margin (1/32 of all, at least 4), then on the least loaded. A client
// whose byte is placed on another worker is sent there by a Retry (QuicServer), whose token
// every worker of the group can check. Consulted on Initials and closes only, never per packet,
// so one mutex serves.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace wzp::transport {

class WorkerPlacement {
 public:
  explicit WorkerPlacement(size_t workers);

  size_t workers() const { return load_.size(); }
  // The worker for a new connection whose client's first ID opens with `byte`.
  size_t place(uint8_t byte, uint64_t now_ms);
  // A connection placed by `byte` was made on / freed by `worker`.
  void opened(uint8_t byte, size_t worker, uint64_t now_ms);
  void closed(uint8_t byte, size_t worker, uint64_t now_ms);
  // Live connections on `worker`.
  size_t load(size_t worker) const;
  // Keys the Retry tokens of the whole group: one worker's Retry is honoured by another.
  const std::array<uint8_t, 32>& retry_secret() const { return secret_; }

  // A byte keeps its worker this long after its last connection went, or after it was placed
  // with none yet (a client sent elsewhere by a Retry comes back within its token's life).
  static constexpr uint64_t kHoldMs = 10000;

 private:
  struct Byte {
    size_t worker = 0;
    uint32_t live = 0;
    uint64_t touched_ms = 0;
    bool placed = false;
  };
  mutable std::mutex m_;
  std::array<Byte, 256> bytes_{};
  std::vector<size_t> load_;
  std::array<uint8_t, 32> secret_{};
};

}  // namespace wzp::transport
