// A room member for the benchmarks that drive a relay with QUIC clients of their own: it offers
// to join once connected and reads the relay's signalling (answered, the room's size).
#pragma once

#include <memory>
#include <span>
#include <variant>

#include "crypto/handshake.h"
#include "proto/roster.h"
#include "proto/signal_framing.h"
#include "transport/quic.h"

namespace wzp::bench {

struct BenchMember : transport::QuicEvents {
  crypto::Identity id = crypto::Identity::generate();
  std::unique_ptr<transport::QuicClient> client;
  proto::SignalFrameReader reader;
  bool answered = false;
  proto::Roster roster;  // the room as the relay's updates list it

  void on_established(transport::QuicConnection& c) override {
    crypto::PendingOffer pending;
    c.send_stream(proto::frame_signal(crypto::make_offer(id, {"good"}, pending)));
  }
  void on_stream(transport::QuicConnection&, std::span<const uint8_t> d) override {
    if (!reader.feed(d)) return;
    while (auto m = reader.next()) {
      if (!m->ok()) continue;
      if (std::holds_alternative<proto::CallAnswer>(m->value())) answered = true;
      if (auto* u = std::get_if<proto::RoomUpdate>(&m->value())) roster.apply(*u);
    }
  }
};

}  // namespace wzp::bench
