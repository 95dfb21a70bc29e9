#include "web/browser_peer.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "client/room_call.h"
#include "client/signal_session.h"
#include "proto/json_text.h"
#include "proto/quality_profile.h"
#include "transport/endpoint.h"
#include "web/control_message.h"

namespace wzp::web {

using json = nlohmann::json;

BrowserPeer::BrowserPeer(std::shared_ptr<WebBridge::Impl> bridge, JoinRequest join, Out out)
    : bridge_(std::move(bridge)),
      room_(std::move(join.room)),
      expect_(std::move(join.expect)),
      secret_(std::move(join.secret)),
      name_(std::move(join.name)),
      out_(std::move(out)),
      identity_(join.seed ? crypto::Identity::from_seed(*join.seed) : crypto::Identity::generate()),
      relay_(bridge_->config.relay),
      connector_(bridge_->io, {{},
                               [b = bridge_](const std::string& r, const std::string& fp) {
                                 return b->pin(r, fp);
                               }}),
      timer_(bridge_->io) {
  ++bridge_->live;
  serial_ = ++bridge_->stats.connections_total;
  session_ = std::make_unique<client::SignalSession>(
      identity_, connector_, bridge_->scheduler,
      [this](const client::SignalEvent& e) { on_event(e); });
  session_->register_relay(relay_);
  start_call();
  tick();
  log({{"event", "page_join"},
       {"page", serial_},
       {"room", room_},
       {"access", secret_ ? "invite" : "open"},
       {"fingerprint", identity_.fingerprint()},
       {"name", name_}});
}

void BrowserPeer::log(const json& j) const {
  if (bridge_->config.log) bridge_->config.log(proto::json_text(j));
}

void BrowserPeer::close(const std::string& reason) {
  log({{"event", "page_closed"}, {"page", serial_}, {"reason", reason}});
  out_.close(reason);
}

BrowserPeer::~BrowserPeer() {
  log({{"event", "page_leave"},
       {"page", serial_},
       {"seconds",
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - joined_).count()},
       {"members", call_ ? call_->member_count() : 0}});
  *alive_ = false;
  --bridge_->live;
  timer_.cancel();
  if (call_) call_->hang_up();
  session_->deregister();
  // The call may still be flushing its goodbye: let it go at the next turn.
  std::shared_ptr<client::RoomCall> c(std::move(call_));
  boost::asio::post(bridge_->io, [c] {});
}

void BrowserPeer::on_binary(std::span<const uint8_t> d) {
  if (!admit()) return;
  if (d.size() != kFrameBytes) {
    ++bridge_->stats.errors_bad_frame;
    return close("bad audio frame: " + std::to_string(d.size()) + " bytes, expected " +
                 std::to_string(kFrameBytes));
  }
  ++bridge_->stats.frames_in;
  Frame& f = frames_.push_back();  // the oldest goes when ten wait
  f.arrived = Clock::now();
  for (size_t i = 0; i < kFrameSamples; ++i) {
    f.pcm[i] = static_cast<int16_t>(d[2 * i] | d[2 * i + 1] << 8);
  }
}

void BrowserPeer::on_text(std::string_view text) {
  if (!admit()) return;
  ++bridge_->stats.control_in;
  const Control c = parse_control(text);
  if (const auto* bad = std::get_if<BadControl>(&c)) {
    ++bridge_->stats.errors_bad_control;
    return close("bad control message: " + bad->reason);
  }
  if (const auto* sw = std::get_if<SwitchRelay>(&c)) {
    const auto ep = transport::parse_address(sw->relay);
    if (!ep.address) return send({{"type", "error"}, {"reason", "relay " + ep.error}});
    relay_ = sw->relay;
    session_->register_relay(relay_);  // the session moves, no deregister dance
    if (call_) call_->move_to(*ep.address);
    return;
  }
  if (const auto* m = std::get_if<SetMute>(&c); m && call_) call_->set_muted(m->on);
  if (const auto* v = std::get_if<SetVolume>(&c); v && call_)
    call_->set_volume(v->fingerprint, v->gain);
}

// A browser may send 50 audio frames a second and some control; a flood is cut off.
bool BrowserPeer::admit() {
  const auto now = Clock::now();
  if (now - window_start_ > std::chrono::seconds(1)) {
    window_start_ = now;
    window_count_ = 0;
  }
  if (++window_count_ > bridge_->config.max_messages_per_s) {
    ++bridge_->stats.errors_flood;
    close("too many messages (over " +
          std::to_string(static_cast<int>(bridge_->config.max_messages_per_s)) + "/s)");
    return false;
  }
  return true;
}

void BrowserPeer::start_call() {
  const auto ep = transport::parse_address(relay_);
  if (!ep.address) return send({{"type", "error"}, {"reason", "relay " + ep.error}});
  client::RoomCallOptions o;
  o.room = room_;
  o.secret = secret_;
  o.expect = expect_;
  // Every join and leave is shown on the page, with the fingerprint and the safety number, and
  // a warning for a name that comes back with another identity (docs/SECURITY.md).
  o.on_member = [this](const client::MemberEvent& e) {
    using K = client::MemberEvent::Kind;
    const char* kind = e.kind == K::kJoined ? "joined"
                       : e.kind == K::kLeft ? "left"
                                            : "identity_changed";
    if (e.kind != K::kLeft) safety_[e.who.fingerprint] = e.safety_number;
    send({{"type", "member"},
          {"event", kind},
          {"name", e.who.display_name},
          {"fingerprint", e.who.fingerprint},
          {"safety_number", e.safety_number},
          {"expected", e.expected},
          {"own_identity", e.own_identity}});
  };
  o.display_name = name_.empty() ? "web-" + identity_.fingerprint().substr(0, 4) : name_;
  o.encoder.silence_suppression = true;
  o.verify_relay = [b = bridge_, this](const std::string& fp) { return b->pin(relay_, fp); };
  auto source = [this](std::span<int16_t> pcm) {
    if (frames_.empty()) return false;
    const Frame& f = frames_.front();
    std::copy(f.pcm.begin(), f.pcm.end(), pcm.begin());
    bridge_->stats.latency.observe(
        std::chrono::duration<double, std::milli>(Clock::now() - f.arrived).count());
    frames_.pop_front();
    return true;
  };
  auto sink = [this](std::span<const int16_t> pcm) {
    if (!call_) return;
    if (++sink_frames_ % 5 == 0) send_speaking();
    if (call_->member_count() == 0) return;
    const size_t n = std::min(pcm.size(), kFrameSamples);
    for (size_t i = 0; i < n; ++i) {
      pcm_out_[2 * i] = static_cast<uint8_t>(pcm[i]);
      pcm_out_[2 * i + 1] = static_cast<uint8_t>(static_cast<uint16_t>(pcm[i]) >> 8);
    }
    ++bridge_->stats.frames_out;
    out_.binary(std::span<const uint8_t>(pcm_out_.data(), 2 * n));
  };
  call_ = std::make_unique<client::RoomCall>(bridge_->io, *ep.address, identity_, o, source, sink);
}

// Every 100 ms: who is speaking, when that changed (the page's speaking rings).
void BrowserPeer::send_speaking() {
  auto now = call_->speaking_sessions();
  if (now == speaking_) return;
  speaking_ = std::move(now);
  send({{"type", "speaking"}, {"sessions", speaking_}});
}

void BrowserPeer::on_event(const client::SignalEvent& e) {
  using K = client::SignalEvent::Kind;
  json j = {{"type", "session"}, {"relay", e.relay}};
  switch (e.kind) {
    case K::kReconnecting:
      j["state"] = "reconnecting";
      j["attempt"] = e.attempt;
      j["next_delay_ms"] = e.next_delay_ms;
      break;
    case K::kRegistered:
      j["state"] = "registered";
      j["fingerprint"] = e.fingerprint;
      break;
    case K::kDeregistered:
      j["state"] = "deregistered";
      break;
    case K::kError:
      j["state"] = "error";
      j["reason"] = e.reason;
      break;
  }
  send(j);
}

// Once a second: the call's state for the page's statistics and participant list.
void BrowserPeer::tick() {
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;  // a tick already due when the page left (cancel cannot recall it)
    if (call_) {
      const auto st = call_->status();
      json members = json::array();
      std::map<std::string, std::string> listed;  // the safety numbers of those listed now
      for (const auto& m : call_->members()) {
        const auto sn = safety_.find(m.fingerprint);
        if (sn != safety_.end()) listed.insert(*sn);
        members.push_back({{"name", m.display_name},
                           {"session", m.session_id},
                           {"muted", m.muted.value_or(false)},
                           {"speaking", call_->speaking(m.session_id)},
                           {"fingerprint", m.fingerprint},
                           {"safety_number", sn == safety_.end() ? "" : sn->second},
                           {"expected", call_->expected(m)}});
      }
      safety_ = std::move(listed);
      send({{"type", "stats"},
            {"relay", relay_},
            {"room", room_},
            // Who may come in: "open" (anyone who knows the name) or "invite" (holders of the
            // secret the page joined with; the relay checks it).
            {"access", secret_ ? "invite" : "open"},
            {"fingerprint", identity_.fingerprint()},
            {"connected", st.connected},
            {"reconnecting", st.reconnecting},
            {"tier", std::string(proto::tier_name(st.tier))},
            {"loss_percent", st.loss_percent},
            {"rtt_ms", st.rtt_ms},
            {"jitter_ms", st.jitter_ms},
            {"delay_ms", st.buffer_delay_ms},
            {"members", members}});
    }
    tick();
  });
}

void BrowserPeer::send(const json& j) { out_.text(proto::json_text(j)); }

}  // namespace wzp::web
