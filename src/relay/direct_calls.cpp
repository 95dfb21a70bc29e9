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

// Why an offer from `caller` cannot be taken (empty: it can), the same here and from abroad.
std::string DirectCalls::refusal(const proto::DirectCallOffer& offer,
                                 const std::string& caller) const {
  // Direct-call state is bounded per caller and in all, and its ids are short.
  size_t ringing = 0;
  for (const auto& [id, c] : calls_) ringing += c.caller == caller && c.room.empty();
  if (offer.call_id.empty() || offer.call_id.size() > kMaxCallId)
    return "call id must be 1 to 64 bytes";
  if (offer.display_name && offer.display_name->size() > kMaxDisplayName)
    return "display name longer than " + std::to_string(kMaxDisplayName) + " bytes";
  if (ringing >= kMaxRingingPerCaller || calls_.size() >= kMaxCalls)
    return "too many calls ringing";
  if (calls_.count(offer.call_id)) return "call id already in use";
  return {};
}

void DirectCalls::tell(const Call& call, bool to_caller, const proto::SignalMessage& m) {
  if (!call.here(to_caller)) return abroad_.post(call.abroad.relay_id, m);
  if (Session* party = present(to_caller ? call.caller : call.callee)) party->send(m);
}

void DirectCalls::end(Calls::iterator it) {
  if (!it->second.room.empty()) {
    parties_.erase(proto::room_sni(it->second.room));
    hosted_abroad_.erase(proto::room_sni(it->second.room));
  }
  calls_.erase(it);
}

void DirectCalls::handle(Session& s, const proto::SignalMessage& msg) {
  if (const auto* offer = std::get_if<proto::DirectCallOffer>(&msg)) {
    ++stats_.calls_offered;
    if (const std::string why = refusal(*offer, s.presence); !why.empty())
      return s.send(proto::Hangup{offer->call_id.substr(0, kMaxCallId), why});
    proto::DirectCallOffer fwd = *offer;
    fwd.from = s.presence;
    if (!fwd.display_name) fwd.display_name = s.info.display_name;
    Session* callee = present(offer->to);
    if (!callee && abroad_.locate) {
      // Perhaps registered on another relay: it rings there once the directory says which.
      calls_[offer->call_id] = {s.presence, offer->to, {}, {}, true};
      return abroad_.locate(offer->to,
                            [this, fwd](std::optional<RelayAt> at) { located(fwd, at); });
    }
    if (!callee) {
      return s.send(
          proto::Hangup{offer->call_id, "callee " + offer->to + " is not registered here"});
    }
    calls_[offer->call_id] = {s.presence, offer->to, {}, {}, false};
    callee->send(fwd);
    return s.send(proto::CallRinging{offer->call_id});
  }
  if (const auto* answer = std::get_if<proto::DirectCallAnswer>(&msg)) {
    auto it = calls_.find(answer->call_id);
    if (it == calls_.end() || it->second.callee != s.presence || it->second.callee_abroad ||
        !it->second.room.empty()) {
      return s.send(proto::Hangup{answer->call_id, "no such call"});
    }
    Call& call = it->second;
    proto::DirectCallAnswer fwd = *answer;
    if (answer->accept) {
      // A private room for the two: a fresh name, admitting only their fingerprints. It lives
      // here, on the callee's relay; a caller on another relay is piped here.
      uint8_t r[12];
      randombytes_buf(r, sizeof r);
      call.room = "direct-" + proto::to_hex(r);
      parties_[proto::room_sni(call.room)] = {call.caller, call.callee};
      fwd.room = call.room;
      ++stats_.calls_connected;
      s.send(fwd);  // the callee learns the room too
      return tell(call, true, fwd);
    }
    tell(call, true, fwd);
    calls_.erase(it);
    return;
  }
  if (const auto* h = std::get_if<proto::Hangup>(&msg); h && h->call_id) {
    auto it = calls_.find(*h->call_id);
    // Only the parties registered here end a call: anyone else who learnt its id is told there
    // is none.
    const auto here = [&](const Call& c, bool caller) {
      return (caller ? c.caller : c.callee) == s.presence && c.here(caller);
    };
    if (it == calls_.end() || !(here(it->second, true) || here(it->second, false))) {
      return s.send(proto::Hangup{*h->call_id, "no such call"});
    }
    tell(it->second, !here(it->second, true), *h);
    end(it);  // ends only this call
  }
}

void DirectCalls::located(const proto::DirectCallOffer& offer, const std::optional<RelayAt>& at) {
  auto it = calls_.find(offer.call_id);
  // Gone meanwhile (hung up, or the caller's registration ended).
  if (it == calls_.end() || !it->second.callee_abroad || it->second.caller != *offer.from) return;
  std::string why;
  if (!at) {
    why = "the cluster directory is unavailable";
  } else if (at->relay_id.empty() || at->relay_id == abroad_.self) {
    why = "callee " + offer.to + " is not registered here or on any relay of the cluster";
  }
  if (!why.empty()) {
    if (Session* caller = present(it->second.caller))
      caller->send(proto::Hangup{offer.call_id, why});
    calls_.erase(it);
    return;
  }
  it->second.abroad = *at;
  abroad_.post(at->relay_id, offer);  // CallRinging comes back from there
}

void DirectCalls::refuse_abroad(const std::string& from, const std::string& call_id,
                                const std::string& why) {
  ++stats_.calls_abroad_refused;
  if (!call_id.empty() && call_id.size() <= kMaxCallId)
    abroad_.post(from, proto::Hangup{call_id, why});
}

void DirectCalls::on_abroad(const std::string& from, const proto::SignalMessage& msg) {
  if (!abroad_.post || from == abroad_.self) return;
  if (const auto* offer = std::get_if<proto::DirectCallOffer>(&msg)) {
    // An offer for a callee registered here, from a caller on the relay `from`.
    if (!offer->from || offer->from->empty() || offer->from->size() > kMaxCallId) {
      ++stats_.calls_abroad_refused;
      return;
    }
    if (std::string why = refusal(*offer, *offer->from); !why.empty())
      return refuse_abroad(from, offer->call_id, why);
    Session* callee = present(offer->to);
    if (!callee)
      return refuse_abroad(from, offer->call_id, "callee " + offer->to + " is not registered here");
    ++stats_.calls_abroad_taken;
    ++stats_.calls_offered;
    calls_[offer->call_id] = {*offer->from, offer->to, {}, RelayAt{from, {}, {}}, false};
    callee->send(*offer);
    return abroad_.post(from, proto::CallRinging{offer->call_id});
  }
  // Anything else is about a call shared with that relay.
  std::string call_id;
  if (const auto* r = std::get_if<proto::CallRinging>(&msg)) call_id = r->call_id;
  if (const auto* a = std::get_if<proto::DirectCallAnswer>(&msg)) call_id = a->call_id;
  if (const auto* h = std::get_if<proto::Hangup>(&msg); h && h->call_id) call_id = *h->call_id;
  auto it = calls_.find(call_id);
  if (it == calls_.end() || it->second.abroad.relay_id != from) {
    ++stats_.calls_abroad_refused;
    return;
  }
  Call& call = it->second;
  ++stats_.calls_abroad_taken;
  if (std::holds_alternative<proto::Hangup>(msg)) {
    tell(call, call.callee_abroad, msg);  // to our party
    return end(it);
  }
  // Ringing and the answer come from the callee's relay, before the room is named.
  if (!call.callee_abroad || !call.room.empty()) {
    ++stats_.calls_abroad_refused;
    return;
  }
  if (const auto* answer = std::get_if<proto::DirectCallAnswer>(&msg)) {
    if (answer->accept) {
      if (!answer->room || answer->room->rfind("direct-", 0) != 0 ||
          answer->room->size() > kMaxCallId) {
        ++stats_.calls_abroad_refused;
        return;
      }
      call.room = *answer->room;
      hosted_abroad_[proto::room_sni(call.room)] = call.abroad;
      ++stats_.calls_connected;
      return tell(call, true, msg);
    }
    tell(call, true, msg);
    calls_.erase(it);
    return;
  }
  tell(call, true, msg);  // ringing
}

std::optional<RelayAt> DirectCalls::hosted_abroad(const std::string& room_sni) const {
  auto it = hosted_abroad_.find(room_sni);
  if (it == hosted_abroad_.end()) return std::nullopt;
  return it->second;
}

void DirectCalls::forget(Session& s) {
  if (s.presence.empty()) return;
  if (present(s.presence) == &s) present_.erase(s.presence);
  const std::string fingerprint = std::exchange(s.presence, {});
  // Calls still ringing end with either party's registration: nobody is left to answer or be
  // told (a party on another relay is told by its relay).
  for (auto it = calls_.begin(); it != calls_.end();) {
    const Call& c = it->second;
    const bool ours =
        (c.caller == fingerprint && c.here(true)) || (c.callee == fingerprint && c.here(false));
    if (!c.room.empty() || !ours) {
      ++it;
      continue;
    }
    if (!c.abroad.relay_id.empty())
      abroad_.post(c.abroad.relay_id, proto::Hangup{it->first, "registration ended"});
    it = calls_.erase(it);
  }
}

}  // namespace wzp::relay
