#include "client/room_call.h"

#include <algorithm>

#include "client/signal_session.h"
#include "proto/trunk_frame.h"

namespace wzp::client {

namespace {

void add_stats(CallDecoderStats& to, const CallDecoderStats& r) {
  to.datagrams += r.datagrams;
  to.slots_decoded += r.slots_decoded;
  to.slots_concealed += r.slots_concealed;
  to.frames_recovered += r.frames_recovered;
  to.dropped_auth += r.dropped_auth;
}

}  // namespace

RoomCall::RoomCall(boost::asio::io_context& io, const boost::asio::ip::udp::endpoint& relay,
                   const crypto::Identity& identity, RoomCallOptions options, Source source,
                   Sink sink)
    : RoomCall(io, transport::Peer{relay, std::nullopt}, identity, std::move(options),
               std::move(source), std::move(sink)) {}

RoomCall::RoomCall(boost::asio::io_context& io, const transport::Address& relay,
                   const crypto::Identity& identity, RoomCallOptions options, Source source,
                   Sink sink)
    : RoomCall(io, transport::peer_of(relay), identity, std::move(options), std::move(source),
               std::move(sink)) {}

RoomCall::RoomCall(boost::asio::io_context& io, transport::Peer relay,
                   const crypto::Identity& identity, RoomCallOptions options, Source source,
                   Sink sink)
    : io_(io),
      relay_(relay.endpoint),
      relay_name_(std::move(relay.name)),
      identity_(identity),
      options_(std::move(options)),
      address_(proto::room_address(options_.room, options_.secret)),
      source_(std::move(source)),
      sink_(std::move(sink)),
      scheduler_(io),
      pcm_(kPcmFrame),
      mix_(kPcmFrame),
      part_(kPcmFrame) {
  if (!options_.fallbacks.empty()) {
    cluster_.push_back(relay_name_
                           ? *relay_name_
                           : transport::Address{relay_.address().to_string(), relay_.port()});
    cluster_.insert(cluster_.end(), options_.fallbacks.begin(), options_.fallbacks.end());
    probing_ = 1;
  }
  dial();
  schedule_step();
}

// Every 5 ms: held repairs go out (paced between frames, in packets of their own); every fourth
// step is a frame.
void RoomCall::step() {
  if (hung_up_) return;  // a step already due when the call was hung up
  ++steps_;
  if (steps_ % kStepsPerFrame == 0) {
    tick();
  } else if (encoder_ && wire_.conn) {
    encoder_->pace(now_ms());
  }
  schedule_step();
}

// The next step on a fixed grid from the scheduler's start, so that timing errors do not
// accumulate (a late step makes the next one sooner).
void RoomCall::schedule_step() {
  const double period_ms = 20.0 / kStepsPerFrame / (1 + options_.clock_skew_ppm / 1e6);
  const auto at = static_cast<uint64_t>(std::llround(period_ms * static_cast<double>(steps_ + 1)));
  const uint64_t now = now_ms();
  step_timer_ = scheduler_.call_after(at > now ? at - now : 0, [this] { step(); });
}

RoomCall::~RoomCall() {
  // A handler already due when the call goes away runs anyway (cancel cannot recall it): it
  // finds the flag down and leaves `this` alone.
  *alive_ = false;
  scheduler_.cancel(step_timer_);
  redial_.cancel();
  // Closing the connection reports back to us (on_closed): let it happen now, while every
  // member is alive, and find no current connection (reset() clears quic_ before deleting).
  // Left to the members' destructors, it ran after wire_ and the others were gone.
  hung_up_ = true;
  quic_.reset();
  probe_.reset();
}

// A fresh connection, handshake and sender key; everything tied to the old session goes.
void RoomCall::dial() {
  drop_probe();
  if (quic_) {
    std::shared_ptr<transport::QuicClient> old(std::move(quic_));
    old->connection().close("redial");
    boost::asio::post(io_, [old] {});  // it may be on the stack
  }
  for (auto& [id, p] : peers_) add_stats(departed_, p.decoder->stats());
  peers_.clear();
  roster_.clear();
  keys_ = crypto::SenderKeyStore{};
  own_key_.reset();
  encoder_.reset();
  sealer_.reset();
  reader_ = proto::SignalFrameReader{};
  joined_ = false;
  if (my_session_) {
    // The relay may list our old session beside the new one until it times out: not worth
    // announcing as a second terminal of ours (see on_room).
    past_sessions_.push_back(*my_session_);
    if (past_sessions_.size() > kPastSessions) past_sessions_.pop_front();
  }
  my_session_.reset();
  last_sent_ = last_lost_ = acked_seen_ = 0;
  report_seq_ = 0;
  directive_seq_.reset();
  report_copies_left_ = 0;
  key_copies_.clear();
  unlisted_keys_.clear();
  liveness_.dialled(now_ms());
  wire_.conn = nullptr;
  if (!relay_name_) return connect();
  // A relay named by host is looked up again before every dial: one that moved is found.
  resolving_ = true;
  transport::resolve(io_, *relay_name_,
                     [this, alive = alive_, dial = ++dials_](const transport::EndpointResult& r) {
                       if (!*alive || dial != dials_ || !resolving_)
                         return;  // a newer dial, or gave up
                       resolving_ = false;
                       unresolved_ = !r.endpoint;
                       if (!r.endpoint) return lost(r.error);
                       relay_ = *r.endpoint;
                       connect();
                     });
}

void RoomCall::connect() {
  quic_ = std::make_unique<transport::QuicClient>(io_, relay_, address_.sni, options_.verify_relay,
                                                  *this);
  wire_.conn = &quic_->connection();
}

void RoomCall::lost(const std::string& reason) {
  joined_ = false;
  wire_.conn = nullptr;
  if (hung_up_ || failed_ || redial_.due()) return;
  if (!ever_joined_ && redial_.taken() == 0 && !reason.empty()) closed_reason_ = reason;
  redial_.next();
}

void RoomCall::move_to(const boost::asio::ip::udp::endpoint& relay) {
  relay_ = relay;
  relay_name_.reset();
  redial_.cancel();
  redial_.reset();
  dial();
}

void RoomCall::move_to(const transport::Address& relay) {
  auto peer = transport::peer_of(relay);
  if (!peer.name) relay_ = peer.endpoint;
  relay_name_ = std::move(peer.name);
  redial_.cancel();
  redial_.reset();
  dial();
}

void RoomCall::hang_up() {
  hung_up_ = true;
  redial_.cancel();
  // No audio in or out from here: the owner may go away while the goodbye is still leaving
  // (the bridge's participant did, and a step already due read it after it was freed).
  scheduler_.cancel(step_timer_);
  source_ = nullptr;
  sink_ = nullptr;
  if (encoder_) encoder_->flush();
  if (!quic_) return;  // still looking the relay up
  auto& c = quic_->connection();
  c.send_stream(proto::frame_signal(proto::Hangup{std::nullopt, "bye"}));
  c.close("hangup");
}

RoomCallStatus RoomCall::status() const {
  RoomCallStatus s;
  s.connected = joined_;
  s.failed = failed_;
  s.reconnecting = ever_joined_ && !joined_ && !failed_ && !hung_up_;
  s.reconnects = reconnects_;
  s.keys_refused = keys_refused_;
  s.reports_by_datagram = signal_datagrams_sent_;
  s.directives_by_datagram = directives_by_datagram_;
  s.keys_by_datagram = keys_by_datagram_;
  for (const auto& [id, p] : peers_) s.unexpected += !expected(p.info);
  s.closed_reason = closed_reason_;
  s.unresolved = unresolved_;
  s.members = member_count();
  if (encoder_) {
    s.sent = encoder_->stats();
    s.tier = encoder_->tier();
    s.codec = encoder_->codec();
    s.repairs_per_frame = encoder_->fec_config().ratio;
    s.path_budget_kbps = encoder_->path_budget_kbps();
  }
  s.received = departed_;
  for (const auto& [id, p] : peers_) {
    if (p.decoder) add_stats(s.received, p.decoder->stats());
  }
  // QUIC's smoothed RTT starts at a guess (333 ms): 0 until a sample was taken.
  if (quic_) {
    if (const auto q = quic_->connection().stats(); q.min_rtt_ms > 0) s.rtt_ms = q.srtt_ms;
  }
  s.loss_percent = received_loss_;
  for (const auto& [id, p] : peers_) {
    const auto& j = p.decoder->jitter_stats();
    s.jitter_ms = std::max(s.jitter_ms, j.jitter_ms);
    s.buffer_delay_ms = std::max(s.buffer_delay_ms, j.current_delay_ms);
    s.accelerated += j.accelerated;
    s.decelerated += j.decelerated;
    if (!s.drift_ppm) s.drift_ppm = p.decoder->drift_ppm();
  }
  return s;
}

void RoomCall::set_muted(bool muted) {
  if (muted == muted_) return;
  muted_ = muted;
  // The others are shown it (through the relay, in its RoomUpdate); a rejoin says it again.
  if (joined_ && quic_) {
    quic_->connection().send_stream(muted ? proto::frame_signal(proto::Mute{})
                                          : proto::frame_signal(proto::Unmute{}));
  }
}

void RoomCall::set_volume(const std::string& fingerprint, double gain) {
  gain = std::clamp(gain, 0.0, 4.0);
  std::erase_if(volumes_, [&](const auto& v) { return v.first == fingerprint; });
  if (volumes_.size() >= kMaxVolumes) volumes_.pop_front();
  volumes_.emplace_back(fingerprint, gain);
  for (auto& [id, p] : peers_) {
    if (p.info.fingerprint == fingerprint) p.gain = gain;
  }
}

bool RoomCall::speaking(uint32_t session) const {
  const auto it = peers_.find(session);
  return it != peers_.end() && it->second.speaking_until > now_ms();
}

std::vector<uint32_t> RoomCall::speaking_sessions() const {
  const uint64_t now = now_ms();
  std::vector<uint32_t> out;
  for (const auto& [id, p] : peers_) {
    if (p.speaking_until > now) out.push_back(id);
  }
  return out;
}

std::vector<proto::Participant> RoomCall::members() const {
  std::vector<proto::Participant> out;
  for (const auto& [id, p] : peers_) out.push_back(p.info);
  return out;
}

void RoomCall::on_established(transport::QuicConnection& c) {
  if (!options_.token.empty()) c.send_stream(proto::frame_signal(proto::AuthToken{options_.token}));
  auto offer = crypto::make_offer(identity_, {"good", "degraded", "catastrophic"}, pending_);
  if (!options_.display_name.empty()) offer.display_name = options_.display_name;
  offer.room_key = address_.key;
  c.send_stream(proto::frame_signal(offer));
}

void RoomCall::on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) {
  liveness_.heard(now_ms());
  if (!reader_.feed(d)) {
    c.close("relay sent an oversized signalling frame");
    return;
  }
  while (auto m = reader_.next()) {
    if (m->ok()) handle(m->value());
  }
}

void RoomCall::handle(const proto::SignalMessage& msg) {
  if (const auto* answer = std::get_if<proto::CallAnswer>(&msg)) {
    // The answer must be signed for our offer: an unsigned, forged or replayed one is not
    // from a relay that took part in this handshake.
    if (auto fin = crypto::finish_offer(pending_, *answer, std::nullopt); !fin) {
      failed_ = true;
      closed_reason_ = "relay's CallAnswer refused: " + std::string(fin.error().what);
      // Not from inside the transport's callback that brought the answer: a posted close.
      boost::asio::post(io_, [this, alive = alive_] {
        if (*alive && quic_) quic_->connection().close(closed_reason_);
      });
      return;
    }
    my_session_ = answer->session_id;
    if (ever_joined_) ++reconnects_;
    joined_ = ever_joined_ = true;
    liveness_.answered(now_ms());
    closed_reason_.clear();
    if (muted_) quic_->connection().send_stream(proto::frame_signal(proto::Mute{}));  // still muted
    return;
  }
  if (const auto* u = std::get_if<proto::RoomUpdate>(&msg)) return on_room(*u);
  if (const auto* sk = std::get_if<proto::SenderKey>(&msg)) {
    // Opens only if signed by its `from` for this connection of ours; installs only if `from`
    // is the member the room lists for that session (a key for someone else's session is an
    // impersonation attempt, a key for an earlier connection a replay).
    auto opened = crypto::open_sender_key(identity_, *sk, pending_.ephemeral_public);
    if (!opened) {
      ++keys_refused_;
      return;
    }
    install_key(std::move(*opened));
    return;
  }
  if (const auto* h = std::get_if<proto::Hangup>(&msg)) {
    closed_reason_ = h->reason;
    // Turned away before joining (access list, token, room full, bad handshake): final.
    // After joining, a Hangup means the relay is going away: dial again.
    if (!joined_) failed_ = true;
    return;
  }
  if (const auto* d = std::get_if<proto::QualityDirective>(&msg)) {
    // The room's weakest receiver, next to what QUIC sees of our own uplink. Each directive
    // once: its copies in datagrams and on the stream carry the same seq.
    if (!encoder_) return;
    if (!directive_seq_.take(d->seq)) return;
    proto::QualitySample sample;
    sample.loss_percent = std::max(d->loss_percent.value_or(0), uplink_loss_);
    sample.mean_burst = d->mean_burst.value_or(1.0);
    sample.packets = proto::reported_count(d->packets);
    sample.capacity_kbps = std::max(0.0, d->capacity_kbps.value_or(0));
    sample.queue_ms = std::clamp(d->queue_ms.value_or(0), 0.0, 60000.0);
    sample.reorder = proto::reported_count(d->reorder);
    sample.rtt_ms = quic_->connection().stats().srtt_ms;
    encoder_->on_peer_quality(sample, now_ms());
  }
}

bool RoomCall::expected(const proto::Participant& p) const {
  const auto& e = options_.expect;
  return e.empty() || std::find(e.begin(), e.end(), p.fingerprint) != e.end();
}

void RoomCall::announce(MemberEvent::Kind kind, const proto::Participant& p) {
  if (!options_.on_member) return;
  MemberEvent e;
  e.kind = kind;
  e.who = p;
  e.expected = expected(p);
  e.own_identity = p.fingerprint == identity_.fingerprint();
  if (p.identity_pub.size() == 32) {
    e.safety_number = crypto::safety_number(
        identity_.signing_public(), std::span<const uint8_t, 32>(p.identity_pub.data(), 32));
  }
  options_.on_member(e);
}

bool RoomCall::our_old_session(const proto::Participant& p) const {
  return p.fingerprint == identity_.fingerprint() &&
         std::find(past_sessions_.begin(), past_sessions_.end(), p.session_id) !=
             past_sessions_.end();
}

void RoomCall::give_key(const proto::Participant& p) {
  if (!own_key_ || !expected(p)) return;
  auto sk = crypto::seal_sender_key(identity_, *own_key_, p);
  if (!sk) return;
  quic_->connection().send_stream(proto::frame_signal(*sk));
  // And copies in datagrams, one a frame tick (see tick), where the path loses most packets:
  // there the stream's copy can take seconds, and until it comes the member hears nothing of
  // us. How many is decided when the path is known (key_copies_for). A newer key for the same
  // member replaces one still queued.
  std::erase_if(key_copies_, [&](const KeyCopies& k) { return k.to == p.session_id; });
  if (key_copies_.size() >= kMaxQueuedKeys) key_copies_.pop_front();
  key_copies_.push_back({p.session_id, proto::signal_datagram(*sk), 0, now_ms()});
}

// A key often goes out at a join, before any loss is measured: the copies wait until QUIC has
// judged 20 of our datagrams (acknowledged or lost; half a second on a path that carries them),
// and are as many as the worst loss known calls for (none on a path losing under 20 %, or one
// that shows a limit: a capped path would spend a second of its capacity on them). A path that
// has not judged 20 in a second loses most acknowledgements: kMinKeyCopies then, or more.
std::optional<int> RoomCall::key_copies_for(const KeyCopies& k, uint64_t now) const {
  if (encoder_ && encoder_->path_budget_kbps() > 0) return 0;
  const auto q = wire_.conn->stats();
  const double known = std::max(uplink_loss_, received_loss_);
  if (const auto seen = transport::judged_datagram_loss(q))
    return proto::signal_copies(std::max(known, *seen));
  if (now - k.queued_at < kUnjudgedMs) return std::nullopt;
  return std::max(kMinKeyCopies, proto::signal_copies(known));
}

// A key that opened: installed when the room lists its sender on that session. One that came
// (by datagram) before the RoomUpdate listing its sender waits, a few at most, for the next.
void RoomCall::install_key(crypto::ReceivedSenderKey k) {
  using V = crypto::SenderKeyStore::Verdict;
  const V v = keys_.install(k, now_ms());
  if (v == V::kWrongSender) ++keys_refused_;
  if (v != V::kNotAMember) return;
  if (unlisted_keys_.size() >= kMaxUnlistedKeys) unlisted_keys_.pop_front();
  unlisted_keys_.push_back(std::move(k));
}

void RoomCall::on_room(const proto::RoomUpdate& u) {
  roster_.apply(u);  // the whole room, or what changed since the last update
  const std::string me = identity_.fingerprint();
  std::map<uint32_t, proto::Participant> now;
  // In the echo room our own media comes back: we are the one member we hear.
  const bool echo = options_.room == proto::kEchoRoom;
  // Our key already existed before this update: a change in who is here means a new key.
  const bool had_key = own_key_.has_value();
  for (const auto& [session, p] : roster_.members()) {
    // We are the session the relay's CallAnswer named (or, from a relay that names none, the
    // first of our identity). Any other session of our identity (a second terminal with the
    // same identity file, or our own older session the relay has not timed out yet) is a
    // member like any other: it holds our identity's keys, so it opens what we hand it, and we
    // hear it. (Skipping our old session ids is not safe: a restarted relay numbers sessions
    // afresh, and a second terminal may get one of them.)
    const bool ours = my_session_ ? p.session_id == *my_session_
                                  : !own_key_ || own_key_->session_id() == p.session_id;
    if (p.fingerprint == me && ours) {
      if (!own_key_) {
        // Our session id is the relay's: receivers find our key by it.
        own_key_.emplace(p.session_id);
        rotated_at_ = now_ms();
        sealer_ = std::make_unique<SenderKeySealer>(*own_key_);
        encoder_ = std::make_unique<CallEncoder>(options_.encoder, *sealer_, wire_);
        if (echo) {
          keys_.bind(own_key_->session_id(), me);
          keys_.install({me, own_key_->session_id(), own_key_->key_id(), own_key_->key()},
                        now_ms());
        }
      }
      if (echo) now[p.session_id] = p;
      continue;
    }
    if (!echo) now[p.session_id] = p;
  }
  bool someone_left = false;
  for (auto it = peers_.begin(); it != peers_.end();) {
    // Gone, or its session now names another identity: either way that member left.
    const auto listed = now.find(it->first);
    if (listed == now.end() || listed->second.fingerprint != it->second.info.fingerprint) {
      add_stats(departed_, it->second.decoder->stats());
      if (!echo && !our_old_session(it->second.info))
        announce(MemberEvent::Kind::kLeft, it->second.info);
      keys_.forget(it->first);
      it = peers_.erase(it);
      someone_left = true;
    } else {
      ++it;
    }
  }
  bool someone_joined = false;
  for (const auto& [id, p] : now) {
    if (auto known = peers_.find(id); known != peers_.end()) {
      known->second.info.muted = p.muted;  // the one thing that changes while a member stays
      continue;
    }
    Peer& peer = peers_[id];
    peer.info = p;
    for (const auto& [fp, gain] : volumes_) {
      if (fp == p.fingerprint) peer.gain = gain;
    }
    keys_.bind(id, p.fingerprint);
    peer.opener = std::make_unique<SenderKeyOpener>(keys_, id);
    peer.decoder = std::make_unique<CallDecoder>(CallDecoderConfig{}, *peer.opener);
    someone_joined = true;
    if (echo) continue;
    if (!our_old_session(p)) announce(MemberEvent::Kind::kJoined, p);
    if (!p.display_name.empty() && directory_.observe(p.display_name, p.fingerprint) ==
                                       crypto::PeerDirectory::Seen::kIdentityChanged) {
      announce(MemberEvent::Kind::kIdentityChanged, p);
    }
  }
  // Keys that came before this update listed their senders.
  auto waiting = std::exchange(unlisted_keys_, {});
  for (auto& k : waiting) install_key(std::move(k));
  if (echo || !own_key_) return;
  if ((someone_left || someone_joined) && had_key) {
    // A departed member must not read what we send from now on, nor a newcomer what we sent
    // before it came: a fresh key for everyone here now.
    rotate_key();
  } else if (someone_joined) {
    for (const auto& [id, p] : now) give_key(p);  // our first key, to everyone here
  }
}

void RoomCall::rotate_key() {
  own_key_->rotate();
  rotated_at_ = now_ms();
  for (const auto& [id, peer] : peers_) give_key(peer.info);
}

void RoomCall::on_datagram(transport::QuicConnection& c, std::span<const uint8_t> d) {
  liveness_.heard(now_ms());
  if (!d.empty() && d[0] == static_cast<uint8_t>(proto::FrameTag::kSignal)) {
    // The relay's copies of a directive, and members' keys passed on (only those are taken
    // from a datagram; a key is checked as one on the stream is).
    auto msg = proto::parse_signal_datagram(d);
    if (msg.ok() && std::holds_alternative<proto::QualityDirective>(msg.value())) {
      ++directives_by_datagram_;
      handle(msg.value());
    } else if (msg.ok() && std::holds_alternative<proto::SenderKey>(msg.value())) {
      ++keys_by_datagram_;
      handle(msg.value());
    }
    return;
  }
  std::array<proto::TrunkEntry, 16> entries;
  auto n = proto::parse_trunk_frame(d, {.max_entries = 16, .max_bytes = 65535}, entries);
  if (!n) return;
  const uint64_t now = now_ms();
  const uint64_t control = c.control_bytes_received();
  for (size_t i = 0; i < *n; ++i) {
    auto it = peers_.find(entries[i].session_id);
    if (it != peers_.end()) it->second.decoder->on_datagram(entries[i].payload, now, control);
  }
}

void RoomCall::on_closed(transport::QuicConnection& c, const std::string& reason) {
  if (!quic_ || &c != &quic_->connection()) return;  // an old connection's goodbye (or ours, going)
  if (closed_reason_.empty()) closed_reason_ = reason;
  // A relay whose certificate fails its pin is not worth dialling again.
  if (!ever_joined_ && reason.find("TLS") != std::string::npos) failed_ = true;
  lost(reason);
}

void RoomCall::drop_probe() {
  if (!probe_) return;
  std::shared_ptr<Probe> old(std::move(probe_));
  old->quic->connection().close("probe done");
  boost::asio::post(io_, [old] {});  // its socket's handlers may be queued
}

// A relay that was killed sends no close, and a path that went down says nothing either: see
// the class comment for how the two are told apart.
void RoomCall::check_liveness() {
  const uint64_t t = now_ms();
  if (resolving_ && !hung_up_ && !failed_ && liveness_.since_dialled(t) > kLookupWithinMs) {
    resolving_ = false;  // its answer, if it ever comes, is ignored
    lost("no answer looking up " + relay_name_->host);
    return;
  }
  if (hung_up_ || failed_ || redial_.due() || !quic_) return;
  // The backoff starts over only once a connection has held for a while: a relay that takes
  // us in and drops us at once is not dialled again in a tight loop.
  if (joined_ && redial_.taken() > 0 && liveness_.held_for(t, kHeldMs)) redial_.reset();
  // An acknowledgement of our datagrams is the relay heard from as surely as anything it sends
  // (it opened under the connection's keys). Through 80 % loss each way its pongs get through
  // one time in 25; the acknowledgements of our 50 datagrams a second come several times a
  // second, so a live connection is not taken for a lost one.
  if (joined_ && wire_.conn) {
    const uint64_t acked = wire_.conn->stats().datagrams_acked;
    if (acked != acked_seen_) {
      acked_seen_ = acked;
      liveness_.heard(t);
    }
  }
  using State = proto::Liveness::State;
  const State state = liveness_.state(t);
  if (!joined_) {
    drop_probe();
    drop_fallback();
    if (state == State::kNoAnswer) {
      quic_->connection().close("no answer");
      // With other relays to go to, the next one is dialled at once instead.
      if (cluster_.size() > 1) return move_on((at_ + 1) % cluster_.size());
      lost("no answer from the relay");
    }
    return;
  }
  if (liveness_.ping_due(t))
    quic_->connection().send_stream(proto::frame_signal(proto::Ping{ticks_, t}));
  if (state == State::kAlive) {
    drop_probe();
    drop_fallback();
    return;
  }
  if (cluster_.size() > 1) {
    // Another relay of the cluster answers a bare handshake and ours, asked the same, does not
    // (within a margin for a farther relay): ours is gone, not our path. Move there.
    if (fallback_probe_ && fallback_probe_->answered && !(probe_ && probe_->answered) &&
        t - fallback_probe_->answered_at >= kFallbackMarginMs) {
      quic_->connection().close("moving to another relay");
      return move_on(probing_);
    }
    probe_fallback(t);
  }
  if (probe_ && probe_->answered) {
    // The path is up. A relay that still knows our connection is heard on it within moments as
    // well (after an outage the probe's handshake can beat our own connection's first packet
    // back by tens of ms); one that is not heard within half a second has lost our session.
    if (t - probe_->answered_at < kProbeAnsweredMs) return;
    drop_probe();
    quic_->connection().close("relay lost our session");
    lost("the relay no longer knows our connection");
  } else if (!probe_lookup_ && (!probe_ || t - probed_at_ > kProbeEveryMs)) {
    drop_probe();
    probed_at_ = t;
    if (!relay_name_) return start_probe();
    probe_lookup_ = true;
    // A relay named by host may have moved: its name is looked up again, and an answer that
    // names another address means dialling there (a probe of the old one would wait forever).
    transport::resolve(io_, *relay_name_,
                       [this, alive = alive_, dial = dials_](const transport::EndpointResult& r) {
                         if (!*alive) return;
                         probe_lookup_ = false;
                         if (dial != dials_ || !quic_ || !joined_ || redial_.due()) return;
                         if (r.endpoint && *r.endpoint != relay_) {
                           quic_->connection().close("relay moved");
                           lost("the relay's name now points to another address");
                           return;
                         }
                         start_probe();
                       });
  }
}

void RoomCall::drop_fallback() {
  if (!fallback_probe_) return;
  std::shared_ptr<Probe> old(std::move(fallback_probe_));
  old->quic->connection().close("probe done");
  boost::asio::post(io_, [old] {});
}

void RoomCall::probe_fallback(uint64_t now) {
  if (fallback_probe_ && (fallback_probe_->answered || now - fallback_probed_at_ < kProbeEveryMs))
    return;
  if (fallback_probe_) {
    // Unanswered for a second: the next one in turn.
    drop_fallback();
    probing_ = (probing_ + 1) % cluster_.size();
    if (probing_ == at_) probing_ = (probing_ + 1) % cluster_.size();
  }
  const auto to = transport::numeric_endpoint(cluster_[probing_]);
  if (!to.endpoint) return;  // fallbacks are numeric (the command line checks)
  fallback_probed_at_ = now;
  fallback_probe_ = std::make_unique<Probe>(scheduler_);
  auto verify = options_.verify_relay;
  if (options_.verify_relay_at)
    verify = [f = options_.verify_relay_at, a = cluster_[probing_]](const std::string& fp) {
      return f(a, fp);
    };
  fallback_probe_->quic = std::make_unique<transport::QuicClient>(io_, *to.endpoint, address_.sni,
                                                                  verify, *fallback_probe_);
}

void RoomCall::move_on(size_t to) {
  drop_probe();
  drop_fallback();
  at_ = to;
  probing_ = (at_ + 1) % cluster_.size();
  if (options_.on_move) options_.on_move(cluster_[at_]);
  move_to(cluster_[at_]);
}

void RoomCall::start_probe() {
  probe_ = std::make_unique<Probe>(scheduler_);
  probe_->quic = std::make_unique<transport::QuicClient>(io_, relay_, address_.sni,
                                                         options_.verify_relay, *probe_);
}

void RoomCall::tick() {
  ++ticks_;
  const uint64_t now = now_ms();
  // And on a schedule, so that a key that leaked protects a bounded stretch of the call.
  if (own_key_ && options_.room != proto::kEchoRoom && !peers_.empty() &&
      options_.key_rotation.count() > 0 &&
      now >= rotated_at_ + static_cast<uint64_t>(options_.key_rotation.count())) {
    rotate_key();
  }
  check_liveness();
  if (encoder_ && wire_.conn) {
    std::fill(pcm_.begin(), pcm_.end(), 0);
    if (source_ && !muted_) source_(pcm_);
    encoder_->push(pcm_, now);
    encoder_->pace(now);
  }
  std::fill(mix_.begin(), mix_.end(), 0);
  for (auto& [id, p] : peers_) {
    p.decoder->pull(part_, now);
    double energy = 0;
    for (size_t i = 0; i < kPcmFrame; ++i) {
      mix_[i] = static_cast<int16_t>(
          std::clamp(mix_[i] + std::lround(part_[i] * p.gain), -32768L, 32767L));
      energy += static_cast<double>(part_[i]) * part_[i];
    }
    if (energy > kSpeakingEnergy) p.speaking_until = now + kSpeakingHoldMs;
  }
  keys_.expire(now);
  if (sink_) sink_(mix_);
  // Once a second, what QUIC saw of our datagrams on the way to the relay (acknowledged or
  // declared lost) drives our tier and FEC ratio. What we receive goes to the relay at the same
  // time (report_due: sooner when a member's stream shows a queue filling fast).
  const uint64_t since = ticks_ - last_report_tick_;
  bool growing = false;
  if (since >= kUrgentReportFrames) {
    for (auto& [id, p] : peers_) growing = growing || p.decoder->queue_growing();
  }
  if (report_due(since, growing) && encoder_ && wire_.conn) {
    last_report_tick_ = ticks_;
    const auto q = wire_.conn->stats();
    const uint64_t sent = q.datagrams_acked + q.datagrams_lost;
    const uint64_t d_sent = sent - last_sent_, d_lost = q.datagrams_lost - last_lost_;
    last_sent_ = sent;
    last_lost_ = q.datagrams_lost;
    if (d_sent > 0)
      uplink_loss_ = 100.0 * static_cast<double>(d_lost) / static_cast<double>(d_sent);
    // And what we receive, for the relay to pass on as the room's weakest link.
    proto::QualityUpdate report;
    received_loss_ = 0;
    for (auto& [id, p] : peers_) {
      const auto m = p.decoder->take_measurement(now);
      received_loss_ = std::max(received_loss_, m.loss_percent);
      if (m.loss_percent >= report.loss_percent) {
        report.loss_percent = m.loss_percent;
        report.mean_burst = m.mean_burst;
        report.packets = m.packets;
      }
      if (m.reorder > 0) report.reorder = std::max<double>(report.reorder.value_or(0), m.reorder);
      if (m.capacity_kbps > 0 &&
          m.capacity_kbps <= report.capacity_kbps.value_or(m.capacity_kbps)) {
        report.capacity_kbps = m.capacity_kbps;
        report.queue_ms = m.queue_ms;
      }
      report.jitter_ms = std::max(report.jitter_ms, static_cast<uint32_t>(m.jitter_ms));
    }
    report.rtt_ms = static_cast<uint32_t>(q.srtt_ms);
    report.profile = std::string(proto::tier_name(encoder_->tier()));
    report.seq = ++report_seq_;
    wire_.conn->send_stream(proto::frame_signal(report));
    // Copies in datagrams where the way to the relay loses many packets (the way back, which
    // we measure, is the best guess for it when we send too little to measure our own). Not on
    // a path that shows a limit: its loss is a queue overflowing, which copies would only feed.
    const bool narrow = report.capacity_kbps.has_value() || encoder_->path_budget_kbps() > 0;
    report_copies_left_ = narrow ? 0 : proto::signal_copies(std::max(uplink_loss_, received_loss_));
    if (report_copies_left_ > 0) report_datagram_ = proto::signal_datagram(report);
  }
  // One copy a frame tick, so that a burst of loss takes one or two of them, not all.
  if (report_copies_left_ > 0 && wire_.conn) {
    --report_copies_left_;
    wire_.conn->send_datagram(report_datagram_);
    ++signal_datagrams_sent_;
  }
  // And one key copy a tick, the queued keys in turn.
  if (!key_copies_.empty() && wire_.conn) {
    KeyCopies& front = key_copies_.front();
    if (front.left == 0) {
      const auto copies = key_copies_for(front, now);
      if (!copies) return;  // the path not known yet
      if (*copies == 0) return key_copies_.pop_front();
      front.left = *copies;
    }
    KeyCopies k = std::move(front);
    key_copies_.pop_front();
    wire_.conn->send_datagram(k.datagram);  // (not a report: not in reports_by_datagram)
    if (--k.left > 0) key_copies_.push_back(std::move(k));
  }
}

}  // namespace wzp::client
