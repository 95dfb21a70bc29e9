#include "relay/relay.h"

#include <array>
#include <chrono>

#include <nlohmann/json.hpp>

#include "proto/frame_tag.h"
#include "proto/json_text.h"
#include "proto/room_name.h"

namespace wzp::relay {

namespace {

uint64_t system_wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

uint64_t Relay::wall_ms() const { return config_.wall_ms ? config_.wall_ms() : system_wall_ms(); }

namespace {

uint64_t flush_ms(std::chrono::microseconds flush) {
  return static_cast<uint64_t>((flush.count() + 999) / 1000);
}

}  // namespace

Relay::Relay(proto::Scheduler& scheduler, const crypto::Identity& identity, RelayConfig config)
    : scheduler_(scheduler),
      identity_(identity),
      config_(std::move(config)),
      echo_sni_(proto::room_sni(proto::kEchoRoom)),
      rooms_(stats_, echo_sni_),
      calls_(stats_, config_.wall_ms ? config_.wall_ms : system_wall_ms),
      gate_(stats_),
      batcher_(scheduler, stats_, flush_ms(config_.trunk_flush)) {
  gate_.set_authorizer(config_.authorize);
  room_names_[echo_sni_] = proto::kEchoRoom;
  arm_sweep();
}

Relay::~Relay() {
  *alive_ = false;
  if (sweep_timer_) scheduler_.cancel(sweep_timer_);
}

Session* Relay::session_of(Peer& p) {
  graveyard_.clear();
  auto it = sessions_.find(&p);
  return it == sessions_.end() ? nullptr : it->second.get();
}

uint16_t Relay::next_session_id() {
  std::set<uint16_t> used;
  for (const auto& [p, s] : sessions_) used.insert(s->id);
  do {
    ++last_id_;
  } while (last_id_ == 0 || used.count(last_id_));
  return last_id_;
}

void Relay::connected(Peer& p, const std::string& sni, const std::string& from) {
  graveyard_.clear();
  if (sessions_.size() >= config_.max_sessions) {
    p.close("relay full");
    return;
  }
  auto s = std::make_unique<Session>();
  s->peer = &p;
  s->id = next_session_id();
  s->serial = ++last_serial_;
  s->last_active_ms = scheduler_.now_ms();
  s->room = sni;
  log("connect", *s, {{"from", from}});
  sessions_[&p] = std::move(s);
}

bool Relay::datagram(Peer& p, std::span<const uint8_t> d) {
  Session* s = session_of(p);
  ++stats_.datagrams_in;
  stats_.bytes_in += d.size();
  if (!s || d.empty()) {
    ++stats_.dropped_not_joined;
    return false;
  }
  // Per-source rate limit: a token bucket; a source that keeps flooding is cut off, so that
  // one misbehaving member cannot drown the others.
  const uint64_t now = scheduler_.now_ms();
  if (!admit(s->bucket, config_.rate, now, stats_.dropped_rate, stats_.cut_off,
             [&] { cut_off(*s, s->bucket.over_rate()); })) {
    return false;
  }
  s->last_active_ms = now;
  if (d[0] == proto::tag_byte(proto::FrameTag::kProbe) && s->peer_relay && d.size() <= 64) {
    std::array<uint8_t, 64> reply;
    std::copy(d.begin(), d.end(), reply.begin());
    reply[0] = proto::tag_byte(proto::FrameTag::kProbeReply);
    s->peer->send_datagram(std::span(reply.data(), d.size()));
    ++stats_.probes_reflected;
    return false;
  }
  if (!s->joined) {
    ++stats_.dropped_not_joined;
    return false;
  }
  if (d[0] == proto::tag_byte(proto::FrameTag::kSignal)) {
    on_signal_datagram(*s, d);
    return false;
  }
  if (!proto::is_media(d[0])) {
    ++stats_.dropped_not_media;  // only media frames are forwarded
    return false;
  }
  if (d.size() > TrunkBatcher::kMaxDatagram) {
    // No voice frame is this long; a peer on a large-MTU path can send it.
    ++stats_.dropped_oversized;
    return false;
  }
  rooms_.for_each_receiver(*s, [&](Session& to) {
    batcher_.deliver(to, s->id, d, to.peer_relay || config_.trunk_clients);
  });
  return true;
}

void Relay::cut_off(Session& s, uint64_t over) {
  log("cut_off", s, {{"over_rate", over}});
  hangup(s, "packet rate exceeded");
}

void Relay::cut_off(Peer& p, uint64_t over) {
  if (Session* s = session_of(p); s && !s->closed) cut_off(*s, over);
}

void Relay::active(Peer& p) {
  if (Session* s = session_of(p)) s->last_active_ms = scheduler_.now_ms();
}

std::vector<Relay::MediaRoute> Relay::media_routes(const std::string& room) {
  bool direct = !config_.trunk_clients;
  rooms_.for_each_member(room, [&](const Session& m) { direct = direct && !m.peer_relay; });
  std::vector<MediaRoute> out;
  rooms_.for_each_member(room, [&](const Session& m) {
    auto& r = out.emplace_back(MediaRoute{m.peer, m.id, direct, {}});
    rooms_.for_each_receiver(m, [&](const Session& to) { r.to.push_back(to.peer); });
  });
  return out;
}

void Relay::stream(Peer& p, std::span<const uint8_t> d) {
  Session* s = session_of(p);
  if (!s) return;
  if (!s->reader.feed(d)) {
    ++stats_.signal_errors;
    hangup(*s, "signalling frame too large");
    return;
  }
  s->last_active_ms = scheduler_.now_ms();
  while (auto msg = s->reader.next()) {
    if (!msg->ok()) {
      ++stats_.signal_errors;
      hangup(*s, "bad signalling message: " + msg->error().message());
      return;
    }
    const bool pass = admit_signal(*s);
    if (s->closed) return;
    if (!pass) continue;
    handle(*s, msg->value());
    if (s->closed) return;
  }
}

// Past its signalling allowance a session's messages are dropped unread, and one that keeps on
// is cut off: a flood of RegisterPresence (an Ed25519 verification each) or of join and leave
// churn costs the relay and the room, not only the sender.
bool Relay::admit_signal(Session& s) {
  return admit(s.signal_bucket, kSignalRate, scheduler_.now_ms(), stats_.signal_rate_dropped,
               stats_.cut_off, [&] {
                 log("cut_off", s, {{"signal_over_rate", s.signal_bucket.over_rate()}});
                 hangup(s, "signalling rate exceeded");
               });
}

void Relay::authorized(uint64_t serial, const AuthVerdict& v) {
  graveyard_.clear();
  Session* s = nullptr;
  for (auto& [p, sess] : sessions_) {
    if (sess->serial == serial) s = sess.get();
  }
  if (!s || s->closed) return;  // gone while the service thought
  if (auto refused = gate_.settle(*s, v)) {
    using R = AuthVerdict::Result;
    log("auth", *s,
        {{"result", v.result == R::kRefused ? "refused" : "unavailable"}, {"reason", v.reason}});
    return hangup(*s, *refused);
  }
  log("auth", *s, {{"result", "valid"}});
  auto held = std::move(s->held);
  s->held.clear();
  for (const auto& m : held) {
    handle(*s, m);
    if (s->closed) return;
  }
}

void Relay::handle(Session& s, const proto::SignalMessage& msg) {
  const auto step = gate_.check(s, msg, [this, alive = alive_, serial = s.serial](AuthVerdict v) {
    if (*alive) authorized(serial, v);
  });
  if (step.kind == AuthGate::Step::Kind::kRefuse) {
    if (!step.log_result.empty()) log("auth", s, {{"result", step.log_result}});
    return hangup(s, step.reason);
  }
  if (step.kind == AuthGate::Step::Kind::kWait) return;
  if (std::holds_alternative<proto::AuthToken>(msg)) return;  // no auth here, or already valid
  if (const auto* hello = std::get_if<proto::FederationHello>(&msg)) {
    if (!s.peer_relay) {
      s.peer_relay = true;
      log("peer_relay", s, {{"relay_id", hello->relay_id}});
    }
    return;
  }
  const auto* ping = std::get_if<proto::Ping>(&msg);
  if (ping && s.peer_relay && !s.joined && s.presence.empty()) {
    return s.send(proto::Pong{ping->id, ping->timestamp_ms});
  }
  if (const auto* offer = std::get_if<proto::CallOffer>(&msg)) return join(s, *offer);
  if (const auto* reg = std::get_if<proto::RegisterPresence>(&msg)) {
    return calls_.register_presence(s, *reg);
  }
  if (!s.presence.empty() && DirectCalls::is_call_message(msg)) return calls_.handle(s, msg);
  if (!s.joined && !s.presence.empty()) {
    if (ping) s.send(proto::Pong{ping->id, ping->timestamp_ms});
    return;
  }
  if (!s.joined) {
    ++stats_.signal_errors;
    return hangup(s, "CallOffer expected first");
  }
  if (ping) return s.send(proto::Pong{ping->id, ping->timestamp_ms});
  if (const auto* q = std::get_if<proto::QualityUpdate>(&msg)) {
    rooms_.on_quality(s, *q, scheduler_.now_ms());
    return;
  }
  if (const auto* key = std::get_if<proto::SenderKey>(&msg)) return on_sender_key(s, *key);
  if (std::holds_alternative<proto::Mute>(msg) || std::holds_alternative<proto::Unmute>(msg)) {
    // Shown to everyone in the next RoomUpdate; said again, it costs nothing.
    const bool muted = std::holds_alternative<proto::Mute>(msg);
    if (s.info.muted.value_or(false) == muted) return;
    s.info.muted = muted ? std::optional<bool>(true) : std::nullopt;
    return rooms_.changed(s);
  }
  if (std::holds_alternative<proto::Hangup>(msg)) {
    leave(s);
    s.peer->close("hangup");
  }
}

// A member hands out its own key only: for its own session, signed by the identity it joined
// with. Anything else is an attempt to speak as another member (docs/SECURITY.md).
void Relay::on_sender_key(Session& s, const proto::SenderKey& key, bool by_datagram) {
  if (key.from != s.info.fingerprint || key.session_id != s.info.session_id ||
      key.identity_pub != s.info.identity_pub) {
    ++stats_.forged_sender_keys;
    log("forged_sender_key", s, {{"claimed_session", key.session_id}});
    return hangup(s, "SenderKey for another member's session or identity");
  }
  rooms_.forward_sender_key(s, key, by_datagram, scheduler_.now_ms());
}

void Relay::join(Session& s, const proto::CallOffer& offer) {
  if (s.joined) return;
  auto answered = crypto::answer_offer(identity_, offer, std::nullopt, replay_, "good");
  if (!answered) {
    ++stats_.handshakes_failed;
    log("handshake_failed", s, {{"reason", std::string(answered.error().what)}});
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
  if (proto::is_invite_sni(s.room) &&
      !(offer.room_key && proto::invite_key_opens(s.room, *offer.room_key))) {
    ++stats_.invites_refused;
    return hangup(s, "this room is invite-only: its secret is needed");
  }
  const std::string fingerprint =
      crypto::fingerprint_of(std::span<const uint8_t, 32>(offer.identity_pub.data(), 32));
  if (const auto* parties = calls_.parties(s.room); parties && !parties->count(fingerprint)) {
    return hangup(s, "not a participant of this call");
  }
  if (auto acl = config_acl_.find(s.room);
      acl != config_acl_.end() && !acl->second.count(fingerprint)) {
    return hangup(s, "not on this room's access list");
  }
  if (rooms_.members(s.room) >= config_.max_participants_per_room) return hangup(s, "room full");
  ++stats_.handshakes_ok;
  s.info.session_id = s.id;
  s.info.fingerprint = fingerprint;
  s.info.display_name = offer.display_name.value_or("");
  s.info.identity_pub = offer.identity_pub;
  s.info.agreement_pub = offer.agreement_pub.value_or(proto::Bytes{});
  s.info.agreement_sig = offer.agreement_sig.value_or(proto::Bytes{});
  s.info.offer_ephemeral = offer.ephemeral_pub;
  answered->answer.session_id = s.id;
  // A probe train ahead of the answer: a narrow way to the member spaces it (and its
  // acknowledgements) by the link's rate, so that the member's capacity is known, and the
  // others told it (narrow_path), before anyone's media has queued there. The answer follows
  // the probes down the same link, so a member is in the room once its path is measured (on a
  // 24 kbit/s link a second later; on an open one at once), and whoever joins after it is told
  // its capacity at the start rather than a second into a call sent at the wrong rate. Members
  // ignore the probes; what the others send meanwhile is not forwarded.
  s.peer->send_probe_train(proto::tag_byte(proto::FrameTag::kProbe), kJoinProbeBytes);
  s.send(answered->answer);
  s.joined = true;
  log("join", s, {{"fingerprint", s.info.fingerprint}, {"members", rooms_.members(s.room) + 1}});
  rooms_.add(s, scheduler_.now_ms());
  routes_changed(s.room);
}

// A member behind a path that loses most packets sends copies of its QualityUpdate and of its
// SenderKeys in datagrams as well as on the stream (proto::signal_datagram). Nothing else is
// taken from a datagram: the rest of signalling needs its order. Each counts against the
// signalling allowance; a key is checked as one on the stream is.
void Relay::on_signal_datagram(Session& s, std::span<const uint8_t> d) {
  auto msg = proto::parse_signal_datagram(d);
  const auto* q = msg.ok() ? std::get_if<proto::QualityUpdate>(&msg.value()) : nullptr;
  const auto* key = msg.ok() && s.joined ? std::get_if<proto::SenderKey>(&msg.value()) : nullptr;
  if ((!q || !q->seq) && !key) {
    ++stats_.dropped_bad_signal;
    return;
  }
  if (!admit_signal(s) || s.closed) return;
  if (key) {
    ++stats_.key_datagrams_in;
    return on_sender_key(s, *key, true);
  }
  if (rooms_.on_quality(s, *q, scheduler_.now_ms())) ++stats_.signal_datagrams_in;
}

void Relay::narrow_path(Peer& p) {
  Session* s = session_of(p);
  if (!s || !s->joined) return;
  const auto pacer = p.stats().pacer;
  if (!pacer.limiting || pacer.capacity_kbps <= 0) return;
  rooms_.on_narrow_path(*s, pacer.capacity_kbps, pacer.queue_ms, scheduler_.now_ms());
}

void Relay::leave(Session& s) {
  if (!s.joined) return;
  log("leave", s, {{"fingerprint", s.info.fingerprint}});
  s.joined = false;
  rooms_.remove(s);
  routes_changed(s.room, s.peer);
}

void Relay::hangup(Session& s, const std::string& reason) {
  log("hangup", s, {{"reason", reason}});
  s.send(proto::Hangup{std::nullopt, reason});
  leave(s);
  s.peer->close(reason);
}

void Relay::closed(Peer& p) {
  auto it = sessions_.find(&p);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  s.closed = true;
  const auto st = p.stats();
  stats_.stale_dropped += st.datagrams_expired;
  stats_.shed += st.datagrams_shed;
  stats_.probe_trains += st.probe_trains;
  stats_.bare_sent += st.bare_sent;
  stats_.bare_received += st.bare_received;
  stats_.bare_rejected += st.bare_rejected;
  batcher_.forget(s);
  leave(s);
  calls_.forget(s);
  log("disconnect", s);
  graveyard_.push_back(std::move(it->second));
  sessions_.erase(it);
}

void Relay::set_limits(size_t max_sessions, size_t max_participants_per_room, RateLimit rate,
                       std::chrono::milliseconds idle_timeout) {
  config_.max_sessions = max_sessions;
  config_.max_participants_per_room = max_participants_per_room;
  config_.rate = rate;
  config_.idle_timeout = idle_timeout;
  if (!sweep_timer_) arm_sweep();
  rooms_.for_each_room([&](const std::string& room, size_t) { routes_changed(room); });
}

// Sessions that sent nothing for idle_timeout are hung up; checked once a second (not at all
// with no timeout).
void Relay::arm_sweep() {
  if (config_.idle_timeout.count() <= 0) return;
  const auto every =
      std::min<std::chrono::milliseconds>(config_.idle_timeout, std::chrono::seconds(1));
  sweep_timer_ = scheduler_.call_after(static_cast<uint64_t>(every.count()), [this] {
    sweep_timer_ = 0;
    sweep_idle();
  });
}

void Relay::sweep_idle() {
  if (config_.idle_timeout.count() <= 0) return;
  graveyard_.clear();
  const uint64_t now = scheduler_.now_ms();
  const auto limit = static_cast<uint64_t>(config_.idle_timeout.count());
  std::vector<Session*> idle;
  for (auto& [p, s] : sessions_) {
    if (!s->closed && now - s->last_active_ms > limit) idle.push_back(s.get());
  }
  for (Session* s : idle) {
    ++stats_.idle_expired;
    hangup(*s, "idle for more than " + std::to_string(config_.idle_timeout.count() / 1000) + " s");
  }
  arm_sweep();
}

void Relay::set_room_acls(const std::map<std::string, std::set<std::string>>& acls) {
  config_acl_.clear();
  room_names_.clear();
  room_names_[echo_sni_] = proto::kEchoRoom;
  for (const auto& [room, fps] : acls) {
    const std::string sni = proto::room_sni(room);
    config_acl_[sni] = fps;
    room_names_[sni] = room;
  }
}

void Relay::shutdown(const std::string& reason) {
  batcher_.stop();
  if (sweep_timer_) scheduler_.cancel(sweep_timer_);
  sweep_timer_ = 0;
  std::vector<Session*> all;
  for (auto& [p, s] : sessions_) all.push_back(s.get());
  for (Session* s : all) {
    s->send(proto::Hangup{std::nullopt, reason});
    s->peer->close(reason);
  }
}

void Relay::log(const char* event, const Session& s, const nlohmann::ordered_json& extra) {
  nlohmann::ordered_json line = {{"event", event}, {"session", s.id}, {"room", s.room}};
  // The names the relay knows (from its access lists) beside their hash.
  if (const auto name = room_names_.find(s.room); name != room_names_.end()) {
    line["room_name"] = name->second;
  }
  for (const auto& [key, value] : extra.items()) line[key] = value;
  const std::string text = proto::json_text(line);
  if (config_.log) config_.log(text);
}

}  // namespace wzp::relay
