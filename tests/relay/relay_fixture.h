// What the relay tests share: a room member speaking the protocol by hand over real QUIC,
// and a relay on 127.0.0.1 driven on the test's own io_context.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "crypto/handshake.h"
#include "proto/media_frame.h"
#include "proto/room_name.h"
#include "proto/signal_framing.h"
#include "proto/trunk_frame.h"
#include "relay/relay_server.h"
#include "room_view.h"
#include "transport/quic.h"

namespace wzp::relay {

namespace asio = boost::asio;
using udp = asio::ip::udp;

struct Member : transport::QuicEvents {
  crypto::Identity id = crypto::Identity::generate();
  std::string name;
  std::unique_ptr<transport::QuicClient> client;
  proto::SignalFrameReader reader;
  std::vector<proto::SignalMessage> messages;
  std::vector<proto::SignalMessage> by_datagram;  // signalling that came in datagrams
  std::map<uint16_t, int> media_from;             // session id -> datagrams
  std::set<uint8_t> markers;                      // first payload byte of each datagram received
  bool answered = false;
  std::string closed;
  std::vector<proto::SignalMessage> preamble;     // sent before the CallOffer (hello, token)
  std::function<void(proto::CallOffer&)> tamper;  // a hostile member's changes to its offer
  int datagrams = 0, entries = 0, probes = 0;
  crypto::PendingOffer pending;  // this connection's offer: sender keys for us are bound to it

  std::optional<proto::Bytes> room_key;  // an invite-only room's key, sent in the offer

  Member(asio::io_context& io, udp::endpoint relay, const std::string& room, std::string n,
         transport::QuicConfig config = {})
      : Member(io, relay, proto::room_address(room, std::nullopt), std::move(n), config) {}
  // Any SNI with any key: the room's own, or what an observer or a guesser has.
  Member(asio::io_context& io, udp::endpoint relay, const proto::RoomAddress& room, std::string n,
         transport::QuicConfig config = {})
      : name(std::move(n)), room_key(room.key) {
    client = std::make_unique<transport::QuicClient>(io, relay, room.sni, nullptr, *this, config);
  }
  void on_established(transport::QuicConnection& c) override {
    for (const auto& m : preamble) c.send_stream(proto::frame_signal(m));
    auto offer = crypto::make_offer(id, {"good"}, pending);
    offer.display_name = name;
    offer.room_key = room_key;
    if (tamper) tamper(offer);
    c.send_stream(proto::frame_signal(offer));
  }
  void on_stream(transport::QuicConnection&, std::span<const uint8_t> d) override {
    ASSERT_TRUE(reader.feed(d).ok());
    while (auto m = reader.next()) {
      ASSERT_TRUE(m->ok());
      if (std::holds_alternative<proto::CallAnswer>(m->value())) answered = true;
      messages.push_back(m->value());
    }
  }
  void on_datagram(transport::QuicConnection&, std::span<const uint8_t> d) override {
    if (d[0] == static_cast<uint8_t>(proto::FrameTag::kProbe)) {  // the join's train
      ++probes;
      return;
    }
    if (d[0] == static_cast<uint8_t>(proto::FrameTag::kSignal)) {  // a directive's copies
      auto m = proto::parse_signal_datagram(d);
      ASSERT_TRUE(m.ok());
      by_datagram.push_back(m.value());
      return;
    }
    ASSERT_EQ(d[0], static_cast<uint8_t>(proto::FrameTag::kTrunk));
    std::array<proto::TrunkEntry, 16> got;
    auto n = proto::parse_trunk_frame(d, {.max_entries = 16, .max_bytes = 1500}, got);
    ASSERT_TRUE(n.ok());
    ++datagrams;
    for (size_t i = 0; i < *n; ++i) {
      ++entries;
      ++media_from[got[i].session_id];
      markers.insert(got[i].payload[1]);
    }
  }
  void on_closed(transport::QuicConnection&, const std::string& r) override { closed = r; }
  void send_media(uint8_t marker) {
    std::vector<uint8_t> d(60, marker);
    d[0] = 0x00;  // looks like a media frame; the relay does not look further
    client->connection().send_datagram(d);
  }
  template <class T>
  const T* last() const {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      if (auto* m = std::get_if<T>(&*it)) return m;
    }
    return nullptr;
  }
  // The room as this member knows it from its RoomUpdates.
  std::optional<proto::RoomUpdate> known_room() const { return test::room_view(messages); }
};

struct RelayFixture {
  asio::io_context io;
  crypto::Identity relay_id = crypto::Identity::generate();
  std::vector<std::string> log;
  RelayServer relay;
  transport::QuicServer server;
  explicit RelayFixture(RelayConfig c = {})
      : relay(io, relay_id, with_log(std::move(c))),
        server(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
               transport::generate_certificate("wzp-relay"), relay) {}
  RelayConfig with_log(RelayConfig c) {
    c.log = [this](const std::string& line) { log.push_back(line); };
    return c;
  }
  bool run_until(const std::function<bool()>& done, int ms = 5000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(5));
    }
    return done();
  }
  // Until every member's join probe train is acknowledged: media toward a member is not
  // forwarded before (a round trip, which a loaded machine or a sanitizer stretches).
  bool until_paths_measured() {
    return run_until([&] {
      return relay.metrics_text().find("wzp_relay_paths_measuring 0\n") != std::string::npos;
    });
  }
};

}  // namespace wzp::relay
