// The relay's logic (relay/relay.h) on a simulated clock, with peers that record what the relay
// sends them: no sockets, no waiting. Each test plays its members (and its hostile ones) by hand.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "crypto/handshake.h"
#include "crypto/identity.h"
#include "proto/media_frame.h"
#include "proto/room_name.h"
#include "proto/scheduler.h"
#include "proto/signal_framing.h"
#include "proto/trunk_frame.h"
#include "relay/relay.h"
#include "room_view.h"
#include "transport/quic.h"

namespace wzp::relay {

// A connection as the relay sees it. Signalling goes through the real framing (what does not
// fit a frame fails the test), datagrams are kept as sent, a close is remembered and delivered
// to the relay afterwards, as the transport does.
struct SimPeer : Peer {
  std::vector<proto::SignalMessage> messages;
  std::vector<std::vector<uint8_t>> datagrams;
  std::string closed;  // the reason, once the relay closed it
  bool gone = false;   // the relay has been told (Relay::closed)
  int probe_trains = 0;
  bool refuse = false;  // the transport refuses datagrams (a full queue)
  transport::QuicStats st;
  proto::SignalFrameReader reader;

  bool send_datagram(std::span<const uint8_t> d) override {
    if (refuse || gone) return false;
    datagrams.emplace_back(d.begin(), d.end());
    return true;
  }
  void send_signal(const proto::SignalMessage& msg) override {
    if (gone) return;
    EXPECT_TRUE(reader.feed(proto::frame_signal(msg)).ok());
    while (auto m = reader.next()) {
      ASSERT_TRUE(m->ok());
      messages.push_back(m->value());
    }
  }
  void send_probe_train(uint8_t, size_t) override { ++probe_trains; }
  void close(const std::string& reason) override {
    if (closed.empty()) closed = reason;
  }
  transport::QuicStats stats() const override { return st; }

  template <class T>
  const T* last() const {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      if (auto* m = std::get_if<T>(&*it)) return m;
    }
    return nullptr;
  }
  template <class T>
  long count() const {
    return std::count_if(messages.begin(), messages.end(), [](const proto::SignalMessage& m) {
      return std::holds_alternative<T>(m);
    });
  }
  // The media entries received, by sender session, and their first payload bytes after the tag.
  struct Media {
    std::map<uint16_t, int> from;
    std::set<uint8_t> markers;
    int frames = 0, entries = 0;
  };
  Media media() const {
    Media out;
    for (const auto& d : datagrams) {
      if (d.empty() || d[0] != proto::tag_byte(proto::FrameTag::kTrunk)) continue;
      std::array<proto::TrunkEntry, 16> e;
      auto n = proto::parse_trunk_frame(d, {.max_entries = 16, .max_bytes = 4096}, e);
      EXPECT_TRUE(n.ok());
      if (!n.ok()) continue;
      ++out.frames;
      for (size_t i = 0; i < *n; ++i) {
        ++out.entries;
        ++out.from[e[i].session_id];
        if (e[i].payload.size() > 1) out.markers.insert(e[i].payload[1]);
      }
    }
    return out;
  }
};

struct SimRelay;

// A member: an identity on one connection.
struct SimMember {
  SimRelay* relay = nullptr;
  SimPeer* peer = nullptr;
  crypto::Identity id = crypto::Identity::generate();
  crypto::PendingOffer pending;

  bool answered() const { return peer->last<proto::CallAnswer>() != nullptr; }
  const std::string& closed() const { return peer->closed; }
  // The room as this member knows it from its RoomUpdates.
  std::optional<proto::RoomUpdate> known_room() const { return test::room_view(peer->messages); }
  std::string hangup_reason() const {
    const auto* h = peer->last<proto::Hangup>();
    return h ? h->reason : std::string();
  }
  void say(const proto::SignalMessage& msg);
  void send(std::span<const uint8_t> d);
  // A 60-byte media datagram whose second byte is `marker`.
  void send_media(uint8_t marker) {
    std::vector<uint8_t> d(60, marker);
    d[0] = proto::tag_byte(proto::FrameTag::kFull);  // the relay does not look further
    send(d);
  }
  // Joins with a signed offer (tamper: a hostile member's changes to it).
  void offer(const std::string& name, const std::optional<proto::Bytes>& room_key = std::nullopt,
             const std::function<void(proto::CallOffer&)>& tamper = {}) {
    auto o = crypto::make_offer(id, {"good"}, pending);
    o.display_name = name;
    o.room_key = room_key;
    if (tamper) tamper(o);
    say(o);
  }
  // Registers for direct calls: asks for the connection's challenge, then signs it.
  bool register_presence() {
    say(crypto::make_presence(id));
    const auto* ack = peer->last<proto::RegisterPresenceAck>();
    if (!ack || !ack->challenge) return false;
    say(crypto::make_presence(id, std::span<const uint8_t>(*ack->challenge)));
    ack = peer->last<proto::RegisterPresenceAck>();
    return ack && ack->accepted;
  }
};

struct SimRelay {
  proto::SimScheduler clock;
  crypto::Identity relay_id = crypto::Identity::generate();
  std::vector<std::string> log;
  Relay relay;
  std::vector<std::unique_ptr<SimPeer>> peers;
  std::vector<std::unique_ptr<SimMember>> members;

  explicit SimRelay(RelayConfig c = {}) : relay(clock, relay_id, with_log(std::move(c))) {
    clock.advance(1000);  // a clock that has run a while
  }
  RelayConfig with_log(RelayConfig c) {
    c.log = [this](const std::string& line) { log.push_back(line); };
    return c;
  }
  // What the transport does after each event: tells the relay of the connections it closed.
  void settle() {
    for (auto& p : peers) {
      if (!p->closed.empty() && !p->gone) {
        p->gone = true;
        relay.closed(*p);
      }
    }
  }
  void advance(uint64_t ms) {
    clock.advance(ms);
    settle();
  }
  // A connection asking for `sni`, with no member on it yet.
  SimMember& connect(const std::string& sni) {
    auto m = std::make_unique<SimMember>();
    m->relay = this;
    peers.push_back(std::make_unique<SimPeer>());
    m->peer = peers.back().get();
    members.push_back(std::move(m));
    relay.connected(*peers.back(), sni, "127.0.0.1:" + std::to_string(40000 + peers.size()));
    settle();
    return *members.back();
  }
  SimMember& join(const std::string& room, const std::string& name) {
    SimMember& m = connect(proto::room_sni(room));
    m.offer(name);
    return m;
  }
  // The peer closes its side (the client went away).
  void disconnect(SimMember& m) {
    m.peer->close("gone");
    settle();
  }
};

inline void SimMember::say(const proto::SignalMessage& msg) {
  if (peer->gone) return;
  relay->relay.stream(*peer, proto::frame_signal(msg));
  relay->settle();
}

inline void SimMember::send(std::span<const uint8_t> d) {
  if (peer->gone) return;
  relay->relay.datagram(*peer, d);
  relay->settle();
}

}  // namespace wzp::relay
