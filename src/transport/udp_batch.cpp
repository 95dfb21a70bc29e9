#include "transport/udp_batch.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace wzp::transport {

void UdpBatchSender::queue(std::span<const uint8_t> packet,
                           const boost::asio::ip::udp::endpoint& to) {
  if (packet.size() > Slot{}.data.size()) {
    ++errors_;
    return;
  }
  if (used_ == kBatch) flush();
  Slot& s = slots_[used_++];
  std::memcpy(s.data.data(), packet.data(), packet.size());
  s.size = packet.size();
  s.to = to;
  if (!posted_) {
    posted_ = true;
    boost::asio::post(io_, [this, alive = alive_] {
      if (!*alive) return;
      posted_ = false;
      flush();
    });
  }
}

void UdpBatchSender::flush() {
  if (used_ == 0 || !socket_.is_open()) {
    used_ = 0;
    return;
  }
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  for (size_t i = 0; i < used_; ++i) {
    iov[i] = {slots_[i].data.data(), slots_[i].size};
    msgs[i].msg_hdr.msg_name = slots_[i].to.data();
    msgs[i].msg_hdr.msg_namelen = static_cast<socklen_t>(slots_[i].to.size());
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  size_t sent = 0;
  while (sent < used_) {
    const int n = ::sendmmsg(socket_.native_handle(), msgs.data() + sent,
                             static_cast<unsigned>(used_ - sent), MSG_DONTWAIT);
    if (n <= 0) {
      // A full socket buffer or an unreachable peer: drop this packet (QUIC recovers what
      // matters) and go on with the rest.
      ++errors_;
      ++sent;
      continue;
    }
    sent += static_cast<size_t>(n);
  }
  used_ = 0;
}

UdpBatchReceiver::UdpBatchReceiver(size_t slot_bytes)
    : slot_bytes_(slot_bytes), slots_(new uint8_t[kBatch * slot_bytes]) {}

size_t UdpBatchReceiver::receive(int fd) {
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  std::array<sockaddr_storage, kBatch> names{};
  for (size_t i = 0; i < kBatch; ++i) {
    iov[i] = {slots_.get() + i * slot_bytes_, slot_bytes_};
    msgs[i].msg_hdr.msg_name = &names[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  const int n = ::recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;
  size_t kept = 0;
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
      ++oversized_;
      continue;
    }
    if (kept != i) {
      std::memcpy(slots_.get() + kept * slot_bytes_, slots_.get() + i * slot_bytes_,
                  msgs[i].msg_len);
    }
    sizes_[kept] = msgs[i].msg_len;
    auto& ep = from_[kept];
    const size_t len = std::min<size_t>(msgs[i].msg_hdr.msg_namelen, ep.capacity());
    std::memcpy(ep.data(), &names[i], len);
    ep.resize(len);
    ++kept;
  }
  return kept;
}

}  // namespace wzp::transport
