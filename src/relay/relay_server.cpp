#include "relay/relay_server.h"

#include <sodium.h>
#include <array>
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "proto/bytes.h"
#include "proto/hex.h"
#include "proto/media_frame.h"
#include "proto/prometheus.h"
#include "proto/trunk_frame.h"

namespace wzp::relay {

using proto::family;
using proto::Sample;
namespace {

std::string json_string(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

RelayServer::RelayServer(boost::asio::io_context& io, const crypto::Identity& identity,
                         RelayConfig config)
    : io_(io),
      identity_(identity),
      config_(std::move(config)),
      flush_timer_(io),
      idle_timer_(io),
      echo_sni_(transport::room_sni(kEchoRoom)) {
  room_names_[echo_sni_] = kEchoRoom;
  if (config_.idle_timeout.count() > 0) sweep_idle();
}

RelayServer::~RelayServer() { *alive_ = false; }

RelayServer::Session* RelayServer::session_of(transport::QuicConnection& c) {
  graveyard_.clear();
  auto it = sessions_.find(&c);
  return it == sessions_.end() ? nullptr : it->second.get();
}

uint16_t RelayServer::next_session_id() {
  std::set<uint16_t> used;
  for (const auto& [c, s] : sessions_) used.insert(s->id);
  do {
    ++last_id_;
  } while (last_id_ == 0 || used.count(last_id_));
  return last_id_;
}

void RelayServer::on_established(transport::QuicConnection& c) {
  graveyard_.clear();
  if (sessions_.size() >= config_.max_sessions) {
    c.close("relay full");
    return;
  }
  auto s = std::make_unique<Session>();
  s->conn = &c;
  s->id = next_session_id();
  s->serial = ++last_serial_;
  s->last_active = std::chrono::steady_clock::now();
  log("connect", *s,
      ",\"from\":\"" + c.remote().address().to_string() + ":" + std::to_string(c.remote().port()) +
          "\"");
  s->room = c.sni();
  sessions_[&c] = std::move(s);
}

void RelayServer::on_datagram(transport::QuicConnection& c, std::span<const uint8_t> d) {
  Session* s = session_of(c);
  ++stats_.datagrams_in;
  stats_.bytes_in += d.size();
  if (!s || d.empty()) {
    ++stats_.dropped_not_joined;
    return;
  }
  // Per-source rate limit: a token bucket; a source that keeps flooding is cut off, so that
  // one misbehaving member cannot drown the others.
  const auto now = std::chrono::steady_clock::now();
  if (!admit(s->bucket, config_.rate, stats_.dropped_rate, stats_.cut_off, [&] {
        log("cut_off", *s, ",\"over_rate\":" + std::to_string(s->bucket.over_rate()));
        hangup(*s, "packet rate exceeded");
      })) {
    return;
  }
  s->last_active = now;
  if (d[0] == static_cast<uint8_t>(proto::FrameTag::kProbe) && s->peer_relay && d.size() <= 64) {
    std::array<uint8_t, 64> reply;
    std::copy(d.begin(), d.end(), reply.begin());
    reply[0] = static_cast<uint8_t>(proto::FrameTag::kProbeReply);
    s->conn->send_datagram(std::span(reply.data(), d.size()));
    ++stats_.probes_reflected;
    return;
  }
  if (!s->joined) {
    ++stats_.dropped_not_joined;
    return;
  }
  if (d[0] == static_cast<uint8_t>(proto::FrameTag::kSignal)) return on_signal_datagram(*s, d);
  if (d[0] > static_cast<uint8_t>(proto::FrameTag::kMini)) {
    ++stats_.dropped_not_media;  // only media frames are forwarded
    return;
  }
  // [tag 0x02][count 1][session id][length][the sender's datagram, untouched]
  std::array<uint8_t, 2048> out{};
  if (d.size() + 7 > out.size()) {
    ++stats_.dropped_oversized;  // no voice frame is this long; a peer on a large-MTU path can send
                                 // it
    return;
  }
  out[0] = static_cast<uint8_t>(proto::FrameTag::kTrunk);
  proto::store_be16(&out[1], 1);
  proto::store_be16(&out[3], s->id);
  proto::store_be16(&out[5], static_cast<uint16_t>(d.size()));
  std::copy(d.begin(), d.end(), out.begin() + 7);
  const std::span<const uint8_t> frame(out.data(), d.size() + 7);
  const bool echo = s->room == echo_sni_;
  for (Session* other : rooms_[s->room]) {
    if ((other == s) != echo) continue;  // everyone else; in the echo room, only the sender
    deliver(*other, s->id, d, frame);
  }
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - now).count();
  for (size_t b = 0; b < std::size(RelayStats::kLatencyBucketsUs); ++b) {
    if (us <= RelayStats::kLatencyBucketsUs[b]) ++stats_.latency_buckets[b];
  }
  ++stats_.latency_count;
  stats_.latency_sum_us += us;
}

void RelayServer::deliver(Session& to, uint16_t from, std::span<const uint8_t> datagram,
                          std::span<const uint8_t> single) {
  if (!to.peer_relay && !config_.trunk_clients) {
    if (to.conn->send_datagram(single)) {
      ++stats_.datagrams_out;
      stats_.bytes_out += single.size();
    } else {
      ++stats_.dropped_send;  // one receiver's trouble is not the others'
    }
    return;
  }
  // Trunk frames sized to the receiver's path: its current QUIC payload limit less the
  // packet's own overhead (short header, DATAGRAM frame header, AEAD tag) and our tag byte.
  const size_t mtu = std::max<size_t>(to.conn->stats().max_udp_payload, 1200) - 64;
  if (!to.batch || (to.batch->empty() && to.batch_mtu != mtu)) {
    to.batch.emplace(proto::TrunkLimits{.max_entries = 10, .max_bytes = mtu});
    to.batch_mtu = mtu;
  }
  if (!to.batch->try_add(from, datagram)) {
    flush_batch(to);
    if (!to.batch->try_add(from, datagram)) {
      ++stats_.dropped_send;
      return;
    }
  }
  if (!to.pending_flush) {
    to.pending_flush = true;
    pending_.push_back(&to);
  }
  if (!flush_armed_) {
    flush_armed_ = true;
    flush_timer_.expires_after(config_.trunk_flush);
    flush_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
      if (ec || !*alive) return;
      flush_armed_ = false;
      flush_all();
    });
  }
}

void RelayServer::flush_batch(Session& s) {
  if (!s.batch || s.batch->empty()) return;
  const auto body = s.batch->bytes();
  out_.resize(body.size() + 1);
  out_[0] = static_cast<uint8_t>(proto::FrameTag::kTrunk);
  std::copy(body.begin(), body.end(), out_.begin() + 1);
  if (s.conn->send_datagram(out_)) {
    stats_.datagrams_out += s.batch->count();
    stats_.bytes_out += out_.size();
    ++stats_.trunk_frames;
    stats_.trunk_entries += s.batch->count();
  } else {
    stats_.dropped_send += s.batch->count();
  }
  s.batch->clear();
}

void RelayServer::flush_all() {
  graveyard_.clear();
  for (Session* s : pending_) {
    s->pending_flush = false;
    flush_batch(*s);
  }
  pending_.clear();
}

void RelayServer::set_limits(size_t max_sessions, size_t max_participants_per_room, RateLimit rate,
                             std::chrono::milliseconds idle_timeout) {
  config_.max_sessions = max_sessions;
  config_.max_participants_per_room = max_participants_per_room;
  config_.rate = rate;
  config_.idle_timeout = idle_timeout;
  if (!sweep_armed_) sweep_idle();
}

// Sessions that sent nothing for idle_timeout are hung up; checked once a second (not at all
// with no timeout).
void RelayServer::sweep_idle() {
  if (config_.idle_timeout.count() <= 0) return;
  graveyard_.clear();
  const auto now = std::chrono::steady_clock::now();
  std::vector<Session*> idle;
  for (auto& [c, s] : sessions_) {
    if (!s->closed && now - s->last_active > config_.idle_timeout) idle.push_back(s.get());
  }
  for (Session* s : idle) {
    ++stats_.idle_expired;
    hangup(*s, "idle for more than " + std::to_string(config_.idle_timeout.count() / 1000) + " s");
  }
  idle_timer_.expires_after(
      std::min<std::chrono::milliseconds>(config_.idle_timeout, std::chrono::seconds(1)));
  sweep_armed_ = true;
  idle_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (!*alive) return;
    sweep_armed_ = false;
    if (!ec) sweep_idle();
  });
}

std::string RelayServer::metrics_text() const {
  const auto& st = stats_;
  size_t members = 0, invite_rooms = 0;
  for (const auto& [r, m] : rooms_) {
    members += m.size();
    invite_rooms += transport::is_invite_sni(r);
  }
  const auto n = [](uint64_t v) { return static_cast<double>(v); };
  std::string out;
  family(out, "wzp_relay_sessions", "gauge", "Open client sessions.", {{"", n(sessions_.size())}});
  family(out, "wzp_relay_rooms", "gauge", "Rooms with at least one member.",
         {{"", n(rooms_.size())}});
  family(out, "wzp_relay_invite_rooms", "gauge",
         "Of those, invite-only rooms (joined with the room's key; the others are open to anyone "
         "who knows the name).",
         {{"", n(invite_rooms)}});
  family(out, "wzp_relay_participants", "gauge", "Members of all rooms.", {{"", n(members)}});
  family(out, "wzp_relay_datagrams_received_total", "counter", "Media datagrams received.",
         {{"", n(st.datagrams_in)}});
  family(out, "wzp_relay_datagrams_sent_total", "counter", "Media datagrams forwarded.",
         {{"", n(st.datagrams_out)}});
  family(out, "wzp_relay_bytes_received_total", "counter", "Media bytes received.",
         {{"", n(st.bytes_in)}});
  family(out, "wzp_relay_bytes_sent_total", "counter", "Media bytes forwarded.",
         {{"", n(st.bytes_out)}});
  family(out, "wzp_relay_dropped_total", "counter", "Datagrams dropped, by reason.",
         {{R"({reason="not_joined"})", n(st.dropped_not_joined)},
          {R"({reason="send_failed"})", n(st.dropped_send)},
          {R"({reason="not_media"})", n(st.dropped_not_media)},
          {R"({reason="rate_limited"})", n(st.dropped_rate)},
          {R"({reason="oversized"})", n(st.dropped_oversized)},
          {R"({reason="bad_signal"})", n(st.dropped_bad_signal)}});
  family(out, "wzp_relay_signal_datagrams_total", "counter",
         "Quality reports and directives as datagrams beside the stream (paths losing 20 % or "
         "more): reports taken, reports not newer than the one held (a copy, by datagram or "
         "stream), directive copies sent.",
         {{R"({outcome="report_taken"})", n(st.signal_datagrams_in)},
          {R"({outcome="report_not_newer"})", n(st.signal_datagrams_stale)},
          {R"({outcome="directive_sent"})", n(st.signal_datagrams_out)}});
  family(out, "wzp_relay_auth_total", "counter", "Token checks (--auth-url), by result.",
         {{R"({result="valid"})", n(st.auth_valid)},
          {R"({result="refused"})", n(st.auth_refused)},
          {R"({result="unavailable"})", n(st.auth_unavailable)}});
  family(out, "wzp_relay_idle_expired_total", "counter", "Sessions hung up for idleness.",
         {{"", n(st.idle_expired)}});
  family(out, "wzp_relay_trunk_frames_total", "counter",
         "Trunk frames sent with batched media (toward relays, or clients with trunk_clients).",
         {{"", n(st.trunk_frames)}});
  family(out, "wzp_relay_trunk_entries_total", "counter", "Media datagrams carried in them.",
         {{"", n(st.trunk_entries)}});
  family(out, "wzp_relay_probes_reflected_total", "counter",
         "Probe datagrams from peer relays answered.", {{"", n(st.probes_reflected)}});
  uint64_t stale = st.stale_dropped, shed = st.shed, measuring = 0;
  uint64_t bare_sent = st.bare_sent, bare_received = st.bare_received,
           bare_rejected = st.bare_rejected;
  for (const auto& [conn, s] : sessions_) {
    const auto cs = conn->stats();
    stale += cs.datagrams_expired;
    shed += cs.datagrams_shed;
    measuring += cs.pacer.measuring;
    bare_sent += cs.bare_sent;
    bare_received += cs.bare_received;
    bare_rejected += cs.bare_rejected;
  }
  family(out, "wzp_relay_bare_datagrams_total", "counter",
         "Media sent beside a member's QUIC packets while its congestion window was full (a path "
         "losing most acknowledgements), and received so: taken, or dropped (did not open, or a "
         "replay).",
         {{R"({outcome="sent"})", n(bare_sent)},
          {R"({outcome="received"})", n(bare_received)},
          {R"({outcome="rejected"})", n(bare_rejected)}});
  family(out, "wzp_relay_stale_datagrams_total", "counter",
         "Media that waited too long for a slow member's path (congestion window) and was dropped.",
         {{"", n(stale)}});
  family(out, "wzp_relay_shed_datagrams_total", "counter",
         "Media not forwarded because a queue stood on the way to its member (it would have played "
         "late), or its path was being measured.",
         {{"", n(shed)}});
  family(out, "wzp_relay_paths_measuring", "gauge",
         "Members whose join's probe train is not yet acknowledged: media toward them is not "
         "forwarded meanwhile (1.5 s at most).",
         {{"", n(measuring)}});
  family(out, "wzp_relay_narrow_paths_total", "counter",
         "Times the way to a member was found narrow: by its join's probe train, or a queue "
         "standing (its senders were told its capacity).",
         {{"", n(st.narrow_paths)}});
  // Quality per room: the weakest member's latest report (rooms are their hashed SNI).
  std::vector<Sample> loss, rtt, jitter, tier;
  for (const auto& [room, members] : rooms_) {
    proto::QualityUpdate worst;
    bool any = false;
    for (const Session* m : members) {
      if (!m->quality) continue;
      any = true;
      worst.loss_percent = std::max(worst.loss_percent, m->quality->loss_percent);
      worst.rtt_ms = std::max(worst.rtt_ms, m->quality->rtt_ms);
      worst.jitter_ms = std::max(worst.jitter_ms, m->quality->jitter_ms);
    }
    if (!any) continue;
    const std::string label = "{room=\"" + room + "\"}";
    loss.push_back({label, worst.loss_percent / 100});
    rtt.push_back({label, worst.rtt_ms / 1000.0});
    jitter.push_back({label, worst.jitter_ms / 1000.0});
    auto rq = room_quality_.find(room);
    tier.push_back(
        {label, static_cast<double>(rq == room_quality_.end()
                                        ? 0
                                        : static_cast<int>(rq->second.controller.tier()))});
  }
  family(out, "wzp_relay_room_loss_ratio", "gauge",
         "Loss before FEC reported by the room's weakest member.", loss);
  family(out, "wzp_relay_room_rtt_seconds", "gauge", "Largest round trip reported in the room.",
         rtt);
  family(out, "wzp_relay_room_jitter_seconds", "gauge", "Largest jitter reported in the room.",
         jitter);
  family(out, "wzp_relay_room_tier", "gauge",
         "The room's tier from its weakest link: 0 good, 1 degraded, 2 catastrophic.", tier);
  family(out, "wzp_relay_handshakes_total", "counter", "Per-hop handshakes, by result.",
         {{R"({result="ok"})", n(st.handshakes_ok)},
          {R"({result="failed"})", n(st.handshakes_failed)}});
  family(out, "wzp_relay_signal_errors_total", "counter", "Malformed or out-of-order signalling.",
         {{"", n(st.signal_errors)}});
  family(out, "wzp_relay_signal_dropped_total", "counter",
         "Signalling messages dropped unread: over the session's allowance (50/s, 200 at once).",
         {{"", n(st.signal_rate_dropped)}});
  family(out, "wzp_relay_forged_sender_keys_total", "counter",
         "SenderKey messages for another member's session or identity (the sender is hung up).",
         {{"", n(st.forged_sender_keys)}});
  family(out, "wzp_relay_invites_refused_total", "counter",
         "Offers for an invite-only room without its key (hung up before joining).",
         {{"", n(st.invites_refused)}});
  family(out, "wzp_relay_cut_off_total", "counter", "Sessions cut off for flooding.",
         {{"", n(st.cut_off)}});
  family(out, "wzp_relay_presence_registrations_total", "counter",
         "Accepted presence registrations.", {{"", n(st.presence)}});
  family(out, "wzp_relay_direct_calls_total", "counter", "Direct calls offered.",
         {{"", n(st.calls_offered)}});
  family(out, "wzp_relay_direct_calls_connected_total", "counter", "Direct calls accepted.",
         {{"", n(st.calls_connected)}});
  family(out, "wzp_relay_direct_calls", "gauge",
         "Direct calls the relay tracks: ringing, or connected and not yet hung up.",
         {{"", n(calls_.size())}});
  // The histogram: cumulative buckets (each datagram counted in every bucket it fits).
  std::array<double, std::size(RelayStats::kLatencyBucketsUs)> bounds{};
  for (size_t i = 0; i < bounds.size(); ++i) bounds[i] = RelayStats::kLatencyBucketsUs[i] / 1e6;
  proto::histogram(out, "wzp_relay_forward_latency_seconds",
                   "Arrival to last copy handed to the transport.", bounds, st.latency_buckets,
                   st.latency_count, st.latency_sum_us / 1e6);
  return out;
}

void RelayServer::on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) {
  Session* s = session_of(c);
  if (!s) return;
  if (!s->reader.feed(d)) {
    ++stats_.signal_errors;
    hangup(*s, "signalling frame too large");
    return;
  }
  s->last_active = std::chrono::steady_clock::now();
  while (auto msg = s->reader.next()) {
    if (!msg->ok()) {
      ++stats_.signal_errors;
      hangup(*s, "bad signalling message: " + msg->error().message());
      return;
    }
    // Past its signalling allowance a session's messages are dropped unread, and one that keeps
    // on is cut off: a flood of RegisterPresence (an Ed25519 verification each) or of join and
    // leave churn costs the relay and the room, not only the sender.
    const bool pass =
        admit(s->signal_bucket, kSignalRate, stats_.signal_rate_dropped, stats_.cut_off, [&] {
          log("cut_off", *s,
              ",\"signal_over_rate\":" + std::to_string(s->signal_bucket.over_rate()));
          hangup(*s, "signalling rate exceeded");
        });
    if (s->closed) return;
    if (!pass) continue;
    handle(*s, msg->value());
    if (s->closed) return;
  }
}

// With --auth-url, a client's first message is its AuthToken; what follows it while the
// service answers is held and handled in order once the token is valid. Relays announcing
// themselves (FederationHello) and their Pings pass: they can join nothing by that alone.
bool RelayServer::admitted(Session& s, const proto::SignalMessage& msg) {
  if (!config_.authorize || s.auth == Session::Auth::kValid) return true;
  if (std::holds_alternative<proto::FederationHello>(msg) ||
      std::holds_alternative<proto::Ping>(msg)) {
    return true;
  }
  if (s.auth == Session::Auth::kPending) {
    if (s.held.size() >= 64) {
      ++stats_.signal_errors;
      hangup(s, "too many messages before the token was checked");
    } else {
      s.held.push_back(msg);
    }
    return false;
  }
  const auto* token = std::get_if<proto::AuthToken>(&msg);
  if (!token) {
    ++stats_.auth_refused;
    log("auth", s, R"(,"result":"missing")");
    hangup(s, "authentication required: send AuthToken first");
    return false;
  }
  s.auth = Session::Auth::kPending;
  config_.authorize(token->token, [this, alive = alive_, serial = s.serial](AuthVerdict v) {
    if (*alive) authorized(serial, v);
  });
  return false;
}

void RelayServer::authorized(uint64_t serial, const AuthVerdict& v) {
  graveyard_.clear();
  Session* s = nullptr;
  for (auto& [c, sess] : sessions_) {
    if (sess->serial == serial) s = sess.get();
  }
  if (!s || s->closed) return;  // gone while the service thought
  using R = AuthVerdict::Result;
  if (v.result != R::kValid) {
    ++(v.result == R::kRefused ? stats_.auth_refused : stats_.auth_unavailable);
    log("auth", *s,
        std::string(",\"result\":\"") + (v.result == R::kRefused ? "refused" : "unavailable") +
            "\",\"reason\":" + json_string(v.reason));
    return hangup(*s, (v.result == R::kRefused ? "token refused: " : "auth service unavailable: ") +
                          v.reason);
  }
  ++stats_.auth_valid;
  log("auth", *s, R"(,"result":"valid")");
  s->auth = Session::Auth::kValid;
  auto held = std::move(s->held);
  s->held.clear();
  for (const auto& m : held) {
    handle(*s, m);
    if (s->closed) return;
  }
}

void RelayServer::handle(Session& s, const proto::SignalMessage& msg) {
  if (!admitted(s, msg)) return;
  if (std::holds_alternative<proto::AuthToken>(msg)) return;  // no auth here, or already valid
  if (const auto* hello = std::get_if<proto::FederationHello>(&msg)) {
    if (!s.peer_relay) {
      s.peer_relay = true;
      log("peer_relay", s, ",\"relay_id\":" + json_string(hello->relay_id));
    }
    return;
  }
  if (s.peer_relay && !s.joined && s.presence.empty()) {
    if (const auto* ping = std::get_if<proto::Ping>(&msg)) {
      return send(s, proto::Pong{ping->id, ping->timestamp_ms});
    }
  }
  if (const auto* offer = std::get_if<proto::CallOffer>(&msg)) return join(s, *offer);
  if (const auto* reg = std::get_if<proto::RegisterPresence>(&msg)) {
    return register_presence(s, *reg);
  }
  if (!s.presence.empty() &&
      (std::holds_alternative<proto::DirectCallOffer>(msg) ||
       std::holds_alternative<proto::DirectCallAnswer>(msg) ||
       (std::holds_alternative<proto::Hangup>(msg) && std::get<proto::Hangup>(msg).call_id))) {
    return direct_call(s, msg);
  }
  if (!s.joined && !s.presence.empty()) {
    if (const auto* ping = std::get_if<proto::Ping>(&msg)) {
      return send(s, proto::Pong{ping->id, ping->timestamp_ms});
    }
    return;
  }
  if (!s.joined) {
    ++stats_.signal_errors;
    return hangup(s, "CallOffer expected first");
  }
  if (const auto* ping = std::get_if<proto::Ping>(&msg)) {
    return send(s, proto::Pong{ping->id, ping->timestamp_ms});
  }
  if (const auto* q = std::get_if<proto::QualityUpdate>(&msg)) return on_quality(s, *q);
  if (const auto* key = std::get_if<proto::SenderKey>(&msg)) {
    // A member hands out its own key only: for its own session, signed by the identity it
    // joined with. Anything else is an attempt to speak as another member (docs/SECURITY.md).
    if (key->from != s.info.fingerprint || key->session_id != s.info.session_id ||
        key->identity_pub != s.info.identity_pub) {
      ++stats_.forged_sender_keys;
      log("forged_sender_key", s, ",\"claimed_session\":" + std::to_string(key->session_id));
      return hangup(s, "SenderKey for another member's session or identity");
    }
    // Forwarded unopened to the member it is addressed to, in the same room, on the connection
    // it names (a second session of the same identity has an offer of its own).
    for (Session* other : rooms_[s.room]) {
      if (other != &s && other->info.fingerprint == key->to &&
          other->info.offer_ephemeral == key->to_ephemeral) {
        send(*other, *key);
      }
    }
    return;
  }
  if (std::holds_alternative<proto::Mute>(msg) || std::holds_alternative<proto::Unmute>(msg)) {
    // Shown to everyone in the next RoomUpdate; said again, it costs nothing.
    const bool muted = std::holds_alternative<proto::Mute>(msg);
    if (s.info.muted.value_or(false) == muted) return;
    s.info.muted = muted ? std::optional<bool>(true) : std::nullopt;
    return room_update(s.room);
  }
  if (std::holds_alternative<proto::Hangup>(msg)) {
    leave(s);
    s.conn->close("hangup");
    return;
  }
}

void RelayServer::join(Session& s, const proto::CallOffer& offer) {
  if (s.joined) return;
  auto answered = crypto::answer_offer(identity_, offer, std::nullopt, replay_, "good");
  if (!answered) {
    ++stats_.handshakes_failed;
    log("handshake_failed", s, ",\"reason\":" + json_string(std::string(answered.error().what)));
    return hangup(s, std::string("handshake failed: ") + std::string(answered.error().what));
  }
  // What the member puts in everyone's RoomUpdate is bounded: a 60 KB name would make every
  // update overflow the signalling frame limit, and every member would redial forever.
  if (offer.display_name && offer.display_name->size() > kMaxDisplayName) {
    ++stats_.signal_errors;
    return hangup(s, "display name longer than " + std::to_string(kMaxDisplayName) + " bytes");
  }
  if ((offer.agreement_pub && offer.agreement_pub->size() != 32) ||
      (offer.agreement_sig && offer.agreement_sig->size() != 64)) {
    ++stats_.signal_errors;
    return hangup(s, "agreement key must be 32 bytes and its signature 64");
  }
  // An invite-only room opens only to its key: an observer who read the SNI off the wire, or
  // someone who knows the name, has neither. An open room is joined by name alone.
  if (transport::is_invite_sni(s.room) &&
      !(offer.room_key && transport::invite_key_opens(s.room, *offer.room_key))) {
    ++stats_.invites_refused;
    return hangup(s, "this room is invite-only: its secret is needed");
  }
  const std::string fingerprint =
      crypto::fingerprint_of(std::span<const uint8_t, 32>(offer.identity_pub.data(), 32));
  if (auto acl = room_acl_.find(s.room);
      acl != room_acl_.end() && !acl->second.count(fingerprint)) {
    return hangup(s, "not a participant of this call");
  }
  if (auto acl = config_acl_.find(s.room);
      acl != config_acl_.end() && !acl->second.count(fingerprint)) {
    return hangup(s, "not on this room's access list");
  }
  auto& room = rooms_[s.room];
  if (room.size() >= config_.max_participants_per_room) return hangup(s, "room full");
  ++stats_.handshakes_ok;
  s.info.session_id = s.id;
  s.info.fingerprint = fingerprint;
  s.info.display_name = offer.display_name.value_or("");
  s.info.identity_pub = offer.identity_pub;
  s.info.agreement_pub = offer.agreement_pub.value_or(proto::Bytes{});
  s.info.agreement_sig = offer.agreement_sig.value_or(proto::Bytes{});
  s.info.offer_ephemeral = offer.ephemeral_pub;
  answered->answer.session_id = s.id;
  send(s, answered->answer);
  // A probe train right behind the answer: a narrow way to the member spaces it (and its
  // acknowledgements) by the link's rate, so that the member's capacity is known, and the
  // others told it (on_narrow_path), before anyone's media has queued there. Members ignore
  // the probes; what the others send meanwhile (a round trip on an open path) is not forwarded.
  s.conn->send_probe_train(static_cast<uint8_t>(proto::FrameTag::kProbe), kJoinProbeBytes);
  s.joined = true;
  room.insert(&s);
  log("join", s,
      ",\"fingerprint\":\"" + s.info.fingerprint + "\",\"members\":" + std::to_string(room.size()));
  room_update(s.room);
  // A narrow path already known in the room (a member's probe train showed it) bounds the
  // newcomer's stream before its first packet, not a queue later.
  if (room.size() > 1) direct(s.room, true);
}

void RelayServer::register_presence(Session& s, const proto::RegisterPresence& reg) {
  proto::RegisterPresenceAck ack;
  if (reg.identity_pub.size() != 32) {
    ack.reason = "identity key must be 32 bytes";
    return send(s, ack);
  }
  const auto pub = std::span<const uint8_t, 32>(reg.identity_pub.data(), 32);
  ack.fingerprint = crypto::fingerprint_of(pub);
  // A registration counts only signed for this connection's challenge: one captured elsewhere
  // (another relay, an earlier connection) is answered with the challenge, unverified.
  if (s.presence_challenge.empty())
    s.presence_challenge = crypto::random_nonce(kPresenceChallengeBytes);
  if (reg.challenge != s.presence_challenge) {
    ack.reason = "sign this connection's challenge";
    ack.challenge = s.presence_challenge;
    return send(s, ack);
  }
  const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  const uint64_t skew = now > reg.timestamp_ms ? now - reg.timestamp_ms : reg.timestamp_ms - now;
  if (reg.display_name && reg.display_name->size() > kMaxDisplayName) {
    ack.reason = "display name longer than " + std::to_string(kMaxDisplayName) + " bytes";
  } else if (!crypto::verify_presence(reg.identity_pub, reg.timestamp_ms, s.presence_challenge,
                                      reg.signature)) {
    ack.reason = "bad signature";
  } else if (skew > 5 * 60 * 1000) {
    ack.reason = "stale registration (clock off by more than 5 minutes?)";
  } else {
    ack.accepted = true;
    // The newest registration of a fingerprint wins (a client that reconnected).
    if (Session* old = present(ack.fingerprint); old && old != &s) old->presence.clear();
    s.presence = ack.fingerprint;
    if (s.info.display_name.empty()) s.info.display_name = reg.display_name.value_or("");
    ++stats_.presence;
  }
  send(s, ack);
}

RelayServer::Session* RelayServer::present(const std::string& fingerprint) {
  for (auto& [c, sess] : sessions_) {
    if (sess->presence == fingerprint && !sess->closed) return sess.get();
  }
  return nullptr;
}

void RelayServer::direct_call(Session& s, const proto::SignalMessage& msg) {
  if (const auto* offer = std::get_if<proto::DirectCallOffer>(&msg)) {
    ++stats_.calls_offered;
    // Direct-call state is bounded per caller and in all, and its ids are short.
    size_t ringing = 0;
    for (const auto& [id, c] : calls_) ringing += c.caller == s.presence && c.room.empty();
    if (offer->call_id.empty() || offer->call_id.size() > kMaxCallId) {
      return send(
          s, proto::Hangup{offer->call_id.substr(0, kMaxCallId), "call id must be 1 to 64 bytes"});
    }
    if (offer->display_name && offer->display_name->size() > kMaxDisplayName) {
      return send(s, proto::Hangup{offer->call_id, "display name longer than " +
                                                       std::to_string(kMaxDisplayName) + " bytes"});
    }
    if (ringing >= kMaxRingingPerCaller || calls_.size() >= kMaxCalls) {
      return send(s, proto::Hangup{offer->call_id, "too many calls ringing"});
    }
    Session* callee = present(offer->to);
    if (!callee || calls_.count(offer->call_id)) {
      return send(s, proto::Hangup{offer->call_id,
                                   callee ? "call id already in use"
                                          : "callee " + offer->to + " is not registered here"});
    }
    calls_[offer->call_id] = {s.presence, offer->to, {}};
    proto::DirectCallOffer fwd = *offer;
    fwd.from = s.presence;
    if (!fwd.display_name) fwd.display_name = s.info.display_name;
    send(*callee, fwd);
    return send(s, proto::CallRinging{offer->call_id});
  }
  if (const auto* answer = std::get_if<proto::DirectCallAnswer>(&msg)) {
    auto it = calls_.find(answer->call_id);
    if (it == calls_.end() || it->second.callee != s.presence) {
      return send(s, proto::Hangup{answer->call_id, "no such call"});
    }
    Call& call = it->second;
    Session* caller = present(call.caller);
    proto::DirectCallAnswer fwd = *answer;
    if (answer->accept) {
      // A private room for the two: a fresh name, admitting only their fingerprints.
      uint8_t r[12];
      randombytes_buf(r, sizeof r);
      call.room = "direct-" + proto::to_hex(r);
      room_acl_[transport::room_sni(call.room)] = {call.caller, call.callee};
      fwd.room = call.room;
      ++stats_.calls_connected;
      send(s, fwd);  // the callee learns the room too
    } else {
      calls_.erase(it);
    }
    if (caller) send(*caller, fwd);
    return;
  }
  if (const auto* h = std::get_if<proto::Hangup>(&msg)) {
    auto it = calls_.find(*h->call_id);
    // Only the two parties end a call: anyone else who learnt its id is told there is none.
    if (it == calls_.end() ||
        (it->second.caller != s.presence && it->second.callee != s.presence)) {
      return send(s, proto::Hangup{*h->call_id, "no such call"});
    }
    const std::string other =
        it->second.caller == s.presence ? it->second.callee : it->second.caller;
    if (Session* peer = present(other)) send(*peer, *h);
    if (!it->second.room.empty()) room_acl_.erase(transport::room_sni(it->second.room));
    calls_.erase(it);  // ends only this call
  }
}

// The room follows its weakest link: once a second (at once for a queue on a path) the worst
// member report feeds the room's controller (the same hysteresis as a client's), so that the
// tier is one for the whole room.
// The loss each member sizes its protection for is the worst among the members that receive its
// stream, which excludes its own report: a listener behind a lossy path does not protect its own
// sending for the loss on its way in (on a capped path that only fills its own uplink).
void RelayServer::on_quality(Session& s, const proto::QualityUpdate& q) {
  if (!s.report_seq.take(q.seq)) {
    ++stats_.signal_datagrams_stale;  // a copy of one we had, or overtaken by a newer one
    return;
  }
  const bool new_loss = q.loss_percent >= 1 && (!s.quality || s.quality->loss_percent < 1);
  s.quality = q;
  direct(s.room, q.capacity_kbps.value_or(0) > 0, new_loss);
}

// A member behind a path that loses most packets sends copies of its QualityUpdate in
// datagrams as well as on the stream (proto::signal_datagram). Nothing else is taken from a
// datagram: the rest of signalling needs its order. It counts against the signalling allowance.
void RelayServer::on_signal_datagram(Session& s, std::span<const uint8_t> d) {
  auto msg = proto::parse_signal_datagram(d);
  const auto* q = msg.ok() ? std::get_if<proto::QualityUpdate>(&msg.value()) : nullptr;
  if (!q || !q->seq) {
    ++stats_.dropped_bad_signal;
    return;
  }
  const bool pass =
      admit(s.signal_bucket, kSignalRate, stats_.signal_rate_dropped, stats_.cut_off, [&] {
        log("cut_off", s, ",\"signal_over_rate\":" + std::to_string(s.signal_bucket.over_rate()));
        hangup(s, "signalling rate exceeded");
      });
  if (!pass || s.closed) return;
  const uint64_t stale = stats_.signal_datagrams_stale;
  on_quality(s, *q);
  if (stats_.signal_datagrams_stale == stale) ++stats_.signal_datagrams_in;
}

// The relay's own view of the path to a member: the probe train it sent on joining, or a queue
// standing in front of what it forwards there (its datagrams are being shed to keep it short),
// gives that member's path capacity before the member itself could report it.
void RelayServer::on_narrow_path(transport::QuicConnection& c) {
  Session* s = session_of(c);
  if (!s || !s->joined) return;
  const auto p = c.stats().pacer;
  if (!p.limiting || p.capacity_kbps <= 0) return;
  s->leg = {p.capacity_kbps, p.queue_ms, std::chrono::steady_clock::now()};
  ++stats_.narrow_paths;
  direct(s->room, true);
}

// A member's path capacity: its own report's, or the relay's measurement of the way to it
// when that is narrower and recent (kLegFor: a member joining a while later is told it too).
std::pair<double, double> RelayServer::capacity_of(
    const Session& m, std::chrono::steady_clock::time_point now) const {
  double cap = m.quality ? m.quality->capacity_kbps.value_or(0) : 0;
  double queue = m.quality ? m.quality->queue_ms.value_or(0) : 0;
  if (m.leg.capacity_kbps > 0 && now - m.leg.at < Session::kLegFor &&
      (cap <= 0 || m.leg.capacity_kbps < cap)) {
    cap = m.leg.capacity_kbps, queue = m.leg.queue_ms;
  }
  return {cap, queue};
}

void RelayServer::direct(const std::string& room, bool queue, bool new_loss) {
  auto& rq = room_quality_[room];
  const auto now = std::chrono::steady_clock::now();
  // A report of a queue on a path is passed on at once (its sender should cut before the queue
  // grows further), at most every 200 ms, and only to the members whose stream met the queue;
  // so is loss on a path that showed none (its senders protect the rest of the second). The
  // room's tier and every other report wait for the second (on a narrow path each directive to
  // its listener takes bytes the queue needs to drain).
  const bool early = now - rq.last_fed < std::chrono::milliseconds(900);
  if (early && (!(queue || new_loss) || now - rq.last_queue_fed < std::chrono::milliseconds(200)))
    return;
  if (!early) rq.last_fed = now;
  const auto& members = rooms_[room];
  // The worst of every report but `except`'s (nullptr: of all of them).
  const auto worst_of = [&](const Session* except) {
    proto::QualitySample worst;
    for (Session* m : members) {
      if (m == except) continue;
      const auto [cap, queue_ms] = capacity_of(*m, now);
      if (cap > 0 && (worst.capacity_kbps == 0 || cap < worst.capacity_kbps)) {
        worst.capacity_kbps = cap;
        worst.queue_ms = std::clamp(queue_ms, 0.0, 60000.0);
      }
      if (!m->quality) continue;
      if (m->quality->loss_percent >= worst.loss_percent) {
        worst.loss_percent = m->quality->loss_percent;
        worst.mean_burst = m->quality->mean_burst.value_or(1.0);
        worst.packets = proto::reported_count(m->quality->packets);
      }
      worst.reorder = std::max(worst.reorder, proto::reported_count(m->quality->reorder));
      worst.rtt_ms = std::max<double>(worst.rtt_ms, m->quality->rtt_ms);
      worst.jitter_ms = std::max<double>(worst.jitter_ms, m->quality->jitter_ms);
    }
    return worst;
  };
  if (!early) rq.controller.on_report(worst_of(nullptr), 0);
  const std::string tier(proto::tier_name(rq.controller.tier()));
  for (Session* m : members) {
    const proto::QualitySample others = worst_of(m);
    if (early && others.capacity_kbps <= 0 && !(new_loss && others.loss_percent >= 1)) continue;
    if ((queue && others.capacity_kbps > 0) || new_loss)
      rq.last_queue_fed = now;  // once one carries it
    proto::QualityDirective d;
    d.profile = tier;
    d.loss_percent = others.loss_percent;
    d.mean_burst = others.mean_burst;
    d.packets = others.packets;
    // The capacity too is the narrowest among the paths its stream takes to the others: its own
    // report measures what reaches it, which a sparse stream (a listener's comfort noise,
    // behind its own congested connection) can make look like a path of 2 kbit/s.
    if (others.capacity_kbps > 0)
      d.capacity_kbps = others.capacity_kbps, d.queue_ms = others.queue_ms;
    if (others.reorder > 0) d.reorder = others.reorder;
    d.reason = "weakest link";
    d.seq = ++directive_seq_;
    send(*m, d);
    // On a way to the member that loses most packets, copies in datagrams too: the stream's
    // copy can wait seconds behind retransmissions there. Not where that way shows a limit (its
    // loss is a queue overflowing, which copies would only feed).
    const bool narrow = capacity_of(*m, now).first > 0 || m->conn->stats().pacer.limiting;
    const int copies = m->quality && !narrow ? proto::signal_copies(m->quality->loss_percent) : 0;
    if (copies > 0) {
      const auto datagram = proto::signal_datagram(d);
      for (int i = 0; i < copies; ++i) m->conn->send_datagram(datagram);
      stats_.signal_datagrams_out += static_cast<uint64_t>(copies);
    }
  }
}

void RelayServer::room_update(const std::string& room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  proto::RoomUpdate u;
  u.room = room;
  for (Session* m : it->second) u.participants.push_back(m->info);
  for (Session* m : it->second) send(*m, u);
}

void RelayServer::leave(Session& s) {
  if (!s.joined) return;
  log("leave", s, ",\"fingerprint\":\"" + s.info.fingerprint + "\"");
  s.joined = false;
  auto it = rooms_.find(s.room);
  if (it == rooms_.end()) return;
  it->second.erase(&s);
  if (it->second.empty()) {
    room_quality_.erase(s.room);
    rooms_.erase(it);  // rooms exist while someone is in them
  } else {
    room_update(s.room);
  }
}

void RelayServer::send(Session& s, const proto::SignalMessage& msg) {
  const auto frame = proto::frame_signal(msg);
  s.conn->send_stream(frame);
}

void RelayServer::log(const char* event, const Session& s, const std::string& extra) {
  // Room names are hashes (hex) and fingerprints hex-and-colons; free text goes through
  // json_string(), since a reason can quote what a client sent.
  std::string line = std::string("{\"event\":\"") + event +
                     "\",\"session\":" + std::to_string(s.id) + ",\"room\":\"" + s.room + "\"";
  if (const auto name = room_names_.find(s.room); name != room_names_.end()) {
    line += ",\"room_name\":" + json_string(name->second);
  }
  line += extra + "}";
  if (config_.log) {
    config_.log(line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

void RelayServer::hangup(Session& s, const std::string& reason) {
  log("hangup", s, ",\"reason\":" + json_string(reason));
  send(s, proto::Hangup{std::nullopt, reason});
  leave(s);
  s.conn->close(reason);
}

void RelayServer::on_closed(transport::QuicConnection& c, const std::string&) {
  auto it = sessions_.find(&c);
  if (it == sessions_.end()) return;
  it->second->closed = true;
  stats_.stale_dropped += c.stats().datagrams_expired;
  stats_.shed += c.stats().datagrams_shed;
  stats_.bare_sent += c.stats().bare_sent;
  stats_.bare_received += c.stats().bare_received;
  stats_.bare_rejected += c.stats().bare_rejected;
  std::erase(pending_, it->second.get());
  leave(*it->second);
  drop_unanswered_calls(*it->second);
  log("disconnect", *it->second);
  graveyard_.push_back(std::move(it->second));
  sessions_.erase(it);
}

// Calls still ringing end with either party's registration: nobody is left to answer or be
// told. (A connected call's private room lives on until a party hangs up: the two may be
// redialling.)
void RelayServer::drop_unanswered_calls(const Session& s) {
  if (s.presence.empty() || present(s.presence)) return;  // re-registered elsewhere meanwhile
  std::erase_if(calls_, [&](const auto& kv) {
    const Call& c = kv.second;
    return c.room.empty() && (c.caller == s.presence || c.callee == s.presence);
  });
}

void RelayServer::set_room_acls(const std::map<std::string, std::set<std::string>>& acls) {
  config_acl_.clear();
  room_names_.clear();
  room_names_[echo_sni_] = kEchoRoom;
  for (const auto& [room, fps] : acls) {
    const std::string sni = transport::room_sni(room);
    config_acl_[sni] = fps;
    room_names_[sni] = room;
  }
}

void RelayServer::shutdown(const std::string& reason) {
  flush_timer_.cancel();
  idle_timer_.cancel();
  std::vector<Session*> all;
  for (auto& [c, s] : sessions_) all.push_back(s.get());
  for (Session* s : all) {
    send(*s, proto::Hangup{std::nullopt, reason});
    s->conn->close(reason);
  }
}

size_t RelayServer::members(const std::string& room_sni) const {
  auto it = rooms_.find(room_sni);
  return it == rooms_.end() ? 0 : it->second.size();
}

}  // namespace wzp::relay
