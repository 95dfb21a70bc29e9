// Outgoing UDP packets gathered during one turn of the event loop and handed to the kernel
// with sendmmsg(2), up to 64 per call: a relay fanning one packet out to a room makes one
// system call instead of one per member.
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

}  // namespace wzp::transport
