#include "client/room_call.h"

#include <algorithm>

#include "proto/trunk_frame.h"

namespace wzp::client {

RoomCall::RoomCall(boost::asio::io_context& io, const boost::asio::ip::udp::endpoint& relay,
                   const crypto::Identity& identity, RoomCallOptions options, Source source,
                   Sink sink)
    : io_(io), identity_(identity), options_(std::move(options)), source_(std::move(source)),
      sink_(std::move(sink)), timer_(io), start_(std::chrono::steady_clock::now()),
      pcm_(kPcmFrame), mix_(kPcmFrame), part_(kPcmFrame) {
  quic_ = std::make_unique<transport::QuicClient>(io, relay, transport::room_sni(options_.room),
                                                  options_.verify_relay, *this);
  wire_.conn = &quic_->connection();
  timer_.expires_at(start_ + std::chrono::milliseconds(20));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

RoomCall::~RoomCall() { timer_.cancel(); }

uint64_t RoomCall::now_ms() const {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - start_)
                                   .count());
}

void RoomCall::hang_up() {
  if (encoder_) encoder_->flush();
  auto& c = quic_->connection();
  c.send_stream(proto::frame_signal(proto::Hangup{std::nullopt, "bye"}));
  c.close("hangup");
}

RoomCallStatus RoomCall::status() const {
  RoomCallStatus s;
  s.connected = connected_;
  s.closed_reason = closed_reason_;
  s.members = peers_.size();
  if (encoder_) {
    s.sent = encoder_->stats();
    s.tier = encoder_->tier();
  }
  for (const auto& [id, p] : peers_) {
    if (!p.decoder) continue;
    const auto& r = p.decoder->stats();
    s.received.datagrams += r.datagrams;
    s.received.slots_decoded += r.slots_decoded;
    s.received.slots_concealed += r.slots_concealed;
    s.received.frames_recovered += r.frames_recovered;
    s.received.dropped_auth += r.dropped_auth;
  }
  s.rtt_ms = quic_->connection().stats().srtt_ms;
  return s;
}

void RoomCall::on_established(transport::QuicConnection& c) {
  connected_ = true;
  auto offer = crypto::make_offer(identity_, {"good", "degraded", "catastrophic"}, pending_);
  if (!options_.display_name.empty()) offer.display_name = options_.display_name;
  c.send_stream(proto::frame_signal(offer));
}

void RoomCall::on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) {
  if (!reader_.feed(d)) {
    c.close("relay sent an oversized signalling frame");
    return;
  }
  while (auto m = reader_.next()) {
    if (m->ok()) handle(m->value());
  }
}

void RoomCall::handle(const proto::SignalMessage& msg) {
  if (const auto* u = std::get_if<proto::RoomUpdate>(&msg)) return on_room(*u);
  if (const auto* sk = std::get_if<proto::SenderKey>(&msg)) {
    auto opened = crypto::open_sender_key(identity_, *sk);
    if (opened) keys_.install(std::move(*opened), now_ms());
    return;
  }
  if (const auto* h = std::get_if<proto::Hangup>(&msg)) closed_reason_ = h->reason;
}

void RoomCall::give_key(const proto::Participant& p) {
  if (!own_key_) return;
  auto sk = crypto::seal_sender_key(identity_, *own_key_, p);
  if (sk) quic_->connection().send_stream(proto::frame_signal(*sk));
}

void RoomCall::on_room(const proto::RoomUpdate& u) {
  const std::string me = identity_.fingerprint();
  std::map<uint32_t, proto::Participant> now;
  for (const auto& p : u.participants) {
    if (p.fingerprint == me) {
      if (!own_key_) {
        // Our session id is the relay's: receivers find our key by it.
        own_key_.emplace(p.session_id);
        sealer_ = std::make_unique<SenderKeySealer>(*own_key_);
        encoder_ = std::make_unique<CallEncoder>(options_.encoder, *sealer_, wire_);
      }
      continue;
    }
    now[p.session_id] = p;
  }
  bool someone_left = false;
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (!now.count(it->first)) {
      keys_.forget(it->first);
      it = peers_.erase(it);
      someone_left = true;
    } else {
      ++it;
    }
  }
  if (someone_left && own_key_) {
    // A departed member must not read what we send from now on.
    own_key_->rotate();
    for (const auto& [id, p] : now) give_key(p);
  }
  for (const auto& [id, p] : now) {
    if (peers_.count(id)) continue;
    Peer& peer = peers_[id];
    peer.info = p;
    peer.opener = std::make_unique<SenderKeyOpener>(keys_, id);
    peer.decoder = std::make_unique<CallDecoder>(CallDecoderConfig{}, *peer.opener);
    give_key(p);
  }
}

void RoomCall::on_datagram(transport::QuicConnection&, std::span<const uint8_t> d) {
  if (d.empty() || d[0] != static_cast<uint8_t>(proto::FrameTag::kTrunk)) return;
  std::array<proto::TrunkEntry, 16> entries;
  auto n = proto::parse_trunk_frame(d.subspan(1), {.max_entries = 16, .max_bytes = 65535}, entries);
  if (!n) return;
  const uint64_t now = now_ms();
  for (size_t i = 0; i < *n; ++i) {
    auto it = peers_.find(entries[i].session_id);
    if (it != peers_.end()) it->second.decoder->on_datagram(entries[i].payload, now);
  }
}

void RoomCall::on_closed(transport::QuicConnection&, const std::string& reason) {
  connected_ = false;
  if (closed_reason_.empty()) closed_reason_ = reason;
  wire_.conn = nullptr;
}

void RoomCall::tick() {
  ++ticks_;
  const uint64_t now = now_ms();
  if (encoder_ && wire_.conn) {
    std::fill(pcm_.begin(), pcm_.end(), 0);
    if (source_) source_(pcm_);
    encoder_->push(pcm_, now);
  }
  std::fill(mix_.begin(), mix_.end(), 0);
  for (auto& [id, p] : peers_) {
    p.decoder->pull(part_, now);
    for (size_t i = 0; i < kPcmFrame; ++i) {
      mix_[i] = static_cast<int16_t>(std::clamp(mix_[i] + part_[i], -32768, 32767));
    }
  }
  keys_.expire(now);
  if (sink_) sink_(mix_);
  // The next tick on a fixed grid, so that timing errors do not accumulate.
  timer_.expires_at(start_ + std::chrono::milliseconds(20 * (ticks_ + 1)));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

}  // namespace wzp::client
