// UDP in batches. Outgoing packets gathered during one turn of the event loop are handed to the
// kernel with sendmmsg(2), up to 64 per call: a relay fanning one packet out to a room makes one
// system call instead of one per member. Incoming ones are taken with recvmmsg(2), up to 32 per
// call: whatever queued while the loop was busy costs one system call, and the last call of a
// turn needs no second one to learn that the queue is empty.
#pragma once

#include <utility>

#include <array>
#include <boost/asio.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace wzp::transport {

class UdpBatchSender {
 public:
  static constexpr size_t kBatch = 64;

  UdpBatchSender(boost::asio::io_context& io, boost::asio::ip::udp::socket& socket)
      : io_(io), socket_(socket) {}
  ~UdpBatchSender() { *alive_ = false; }

  // Copies the packet; it leaves at the end of this turn of the loop (or when 64 are queued).
  void queue(std::span<const uint8_t> packet, const boost::asio::ip::udp::endpoint& to);
  void flush();
  uint64_t send_errors() const { return errors_; }

 private:
  struct Slot {
    std::array<uint8_t, 1500> data;
    size_t size = 0;
    boost::asio::ip::udp::endpoint to;
  };
  boost::asio::io_context& io_;
  boost::asio::ip::udp::socket& socket_;
  std::vector<Slot> slots_ = std::vector<Slot>(kBatch);
  size_t used_ = 0;
  bool posted_ = false;
  uint64_t errors_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class UdpBatchReceiver {
 public:
  static constexpr size_t kBatch = 32;
  // The largest UDP payload IPv4 or IPv6 can carry without jumbograms: no datagram is cut short.
  // The slots are allocated once and not initialised, so the pages a peer never fills cost no
  // memory.
  static constexpr size_t kMaxSlotBytes = 65536;

  explicit UdpBatchReceiver(size_t slot_bytes = kMaxSlotBytes);
  // Takes what is queued on the socket `fd`, without blocking, at most kBatch datagrams; they
  // stay readable through packet(i) and from(i) until the next call. 0: nothing was queued.
  size_t receive(int fd);
  std::span<const uint8_t> packet(size_t i) const {
    return {slots_.get() + i * slot_bytes_, sizes_[i]};
  }
  const boost::asio::ip::udp::endpoint& from(size_t i) const { return from_[i]; }
  // Datagrams dropped for being larger than a slot, since the last call.
  uint64_t take_oversized() { return std::exchange(oversized_, 0); }

 private:
  size_t slot_bytes_;
  std::unique_ptr<uint8_t[]> slots_;
  std::array<size_t, kBatch> sizes_{};
  std::array<boost::asio::ip::udp::endpoint, kBatch> from_{};
  uint64_t oversized_ = 0;
};

}  // namespace wzp::transport
