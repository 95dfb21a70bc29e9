#include "relay/direct_calls.h"

#include <sodium.h>

#include "crypto/handshake.h"
#include "crypto/identity.h"
#include "proto/hex.h"
#include "proto/room_name.h"

namespace wzp::relay {

DirectCalls::DirectCalls(RelayStats& stats, std::function<uint64_t()> wall_ms)
    : stats_(stats), wall_ms_(std::move(wall_ms)) {}

bool DirectCalls::is_call_message(const proto::SignalMessage& msg) {
  return std::holds_alternative<proto::DirectCallOffer>(msg) ||
         std::holds_alternative<proto::DirectCallAnswer>(msg) ||
         (std::holds_alternative<proto::Hangup>(msg) && std::get<proto::Hangup>(msg).call_id);
}

Session* DirectCalls::present(const std::string& fingerprint) const {
  auto it = present_.find(fingerprint);
  return it == present_.end() ? nullptr : it->second;
}

const std::set<std::string>* DirectCalls::parties(const std::string& room_sni) const {
  auto it = parties_.find(room_sni);
  return it == parties_.end() ? nullptr : &it->second;
}

void DirectCalls::register_presence(Session& s, const proto::RegisterPresence& reg) {
  proto::RegisterPresenceAck ack;
  if (reg.identity_pub.size() != 32) {
    ack.reason = "identity key must be 32 bytes";
    return s.send(ack);
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
    return s.send(ack);
  }
  const uint64_t now = wall_ms_();
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
    if (!s.presence.empty() && s.presence != ack.fingerprint) present_.erase(s.presence);
    s.presence = ack.fingerprint;
    present_[s.presence] = &s;
    if (s.info.display_name.empty()) s.info.display_name = reg.display_name.value_or("");
    ++stats_.presence;
  }
  s.send(ack);
}

void DirectCalls::handle(Session& s, const proto::SignalMessage& msg) {
  if (const auto* offer = std::get_if<proto::DirectCallOffer>(&msg)) {
    ++stats_.calls_offered;
    // Direct-call state is bounded per caller and in all, and its ids are short.
    size_t ringing = 0;
    for (const auto& [id, c] : calls_) ringing += c.caller == s.presence && c.room.empty();
    if (offer->call_id.empty() || offer->call_id.size() > kMaxCallId) {
      return s.send(
          proto::Hangup{offer->call_id.substr(0, kMaxCallId), "call id must be 1 to 64 bytes"});
    }
    if (offer->display_name && offer->display_name->size() > kMaxDisplayName) {
      return s.send(proto::Hangup{offer->call_id, "display name longer than " +
                                                      std::to_string(kMaxDisplayName) + " bytes"});
    }
    if (ringing >= kMaxRingingPerCaller || calls_.size() >= kMaxCalls) {
      return s.send(proto::Hangup{offer->call_id, "too many calls ringing"});
    }
    Session* callee = present(offer->to);
    if (!callee || calls_.count(offer->call_id)) {
      return s.send(proto::Hangup{
          offer->call_id,
          callee ? "call id already in use" : "callee " + offer->to + " is not registered here"});
    }
    calls_[offer->call_id] = {s.presence, offer->to, {}};
    proto::DirectCallOffer fwd = *offer;
    fwd.from = s.presence;
    if (!fwd.display_name) fwd.display_name = s.info.display_name;
    callee->send(fwd);
    return s.send(proto::CallRinging{offer->call_id});
  }
  if (const auto* answer = std::get_if<proto::DirectCallAnswer>(&msg)) {
    auto it = calls_.find(answer->call_id);
    if (it == calls_.end() || it->second.callee != s.presence) {
      return s.send(proto::Hangup{answer->call_id, "no such call"});
    }
    Call& call = it->second;
    Session* caller = present(call.caller);
    proto::DirectCallAnswer fwd = *answer;
    if (answer->accept) {
      // A private room for the two: a fresh name, admitting only their fingerprints.
      uint8_t r[12];
      randombytes_buf(r, sizeof r);
      call.room = "direct-" + proto::to_hex(r);
      parties_[proto::room_sni(call.room)] = {call.caller, call.callee};
      fwd.room = call.room;
      ++stats_.calls_connected;
      s.send(fwd);  // the callee learns the room too
    } else {
      calls_.erase(it);
    }
    if (caller) caller->send(fwd);
    return;
  }
  if (const auto* h = std::get_if<proto::Hangup>(&msg); h && h->call_id) {
    auto it = calls_.find(*h->call_id);
    // Only the two parties end a call: anyone else who learnt its id is told there is none.
    if (it == calls_.end() ||
        (it->second.caller != s.presence && it->second.callee != s.presence)) {
      return s.send(proto::Hangup{*h->call_id, "no such call"});
    }
    const std::string other =
        it->second.caller == s.presence ? it->second.callee : it->second.caller;
    if (Session* peer = present(other)) peer->send(*h);
    if (!it->second.room.empty()) parties_.erase(proto::room_sni(it->second.room));
    calls_.erase(it);  // ends only this call
  }
}

void DirectCalls::forget(Session& s) {
  if (s.presence.empty()) return;
  if (present(s.presence) == &s) present_.erase(s.presence);
  const std::string fingerprint = std::exchange(s.presence, {});
  // Calls still ringing end with either party's registration: nobody is left to answer or be
  // told.
  std::erase_if(calls_, [&](const auto& kv) {
    const Call& c = kv.second;
    return c.room.empty() && (c.caller == fingerprint || c.callee == fingerprint);
  });
}

}  // namespace wzp::relay
