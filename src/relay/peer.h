// What the relay's logic needs of a connection: send a datagram or a signalling message, send a
// probe train, close, and read what the transport knows of the path. QuicPeer (relay_server.h)
// is the real one; the unit tests give the logic peers of their own, with no sockets.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "proto/signal_message.h"
#include "transport/quic.h"

namespace wzp::relay {

class Peer {
 public:
  virtual ~Peer() = default;
  // False when the transport refused it (the path's queue, or the connection is gone).
  virtual bool send_datagram(std::span<const uint8_t> d) = 0;
  // On the signalling stream, in order.
  virtual void send_signal(const proto::SignalMessage& msg) = 0;
  // A train of datagrams of `bytes` back to back, each opening with `tag`; the transport
  // measures the path from their acknowledgements and reports a narrow one (Relay::narrow_path).
  virtual void send_probe_train(uint8_t tag, size_t bytes) = 0;
  // Ends the connection; the relay hears of it through Relay::closed(), later.
  virtual void close(const std::string& reason) = 0;
  virtual transport::QuicStats stats() const = 0;
};

}  // namespace wzp::relay
