// Presence and direct calls: a client registers its fingerprint (signed for this connection's
// challenge), another calls it by that fingerprint, the relay rings the callee and, once it
// accepts, names a private room that admits only the two. State is bounded: ids are short,
// a caller has at most kMaxRingingPerCaller calls ringing, the relay kMaxCalls in all, and a
// registration's ringing calls go with it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "relay/session.h"
#include "relay/stats.h"

namespace wzp::relay {

inline constexpr size_t kMaxDisplayName = 64;          // bytes, in CallOffer and RegisterPresence
inline constexpr size_t kPresenceChallengeBytes = 16;  // the nonce a registration signs
inline constexpr size_t kMaxCallId = 64;               // bytes
inline constexpr size_t kMaxRingingPerCaller = 4;      // unanswered direct calls per registration
inline constexpr size_t kMaxCalls = 10000;             // direct calls the relay tracks at once

class DirectCalls {
 public:
  // wall_ms: the wall clock in ms since the epoch (a registration's timestamp is checked on it).
  DirectCalls(RelayStats& stats, std::function<uint64_t()> wall_ms);

  void register_presence(Session& s, const proto::RegisterPresence& reg);
  // A DirectCallOffer, DirectCallAnswer or Hangup with a call id, from a registered session.
  static bool is_call_message(const proto::SignalMessage& msg);
  void handle(Session& s, const proto::SignalMessage& msg);
  // `s` is going: its registration ends, and so do the calls still ringing for it. (A connected
  // call's private room lives on until a party hangs up: the two may be redialling.)
  void forget(Session& s);
  // Who may join a direct call's private room (by its SNI); nullptr for any other room.
  const std::set<std::string>* parties(const std::string& room_sni) const;
  size_t calls() const { return calls_.size(); }
  size_t registered() const { return present_.size(); }
  // f(fingerprint) for every registration.
  template <class F>
  void for_each_registered(F&& f) const {
    for (const auto& entry : present_) f(entry.first);
  }

 private:
  Session* present(const std::string& fingerprint) const;

  RelayStats& stats_;
  std::function<uint64_t()> wall_ms_;
  struct Call {
    std::string caller, callee;  // fingerprints
    std::string room;            // room name once accepted; its SNI admits only these two
  };
  std::map<std::string, Call> calls_;                     // by call_id
  std::map<std::string, std::set<std::string>> parties_;  // private room SNI -> fingerprints
  std::map<std::string, Session*> present_;  // fingerprint -> the session it registered last
};

}  // namespace wzp::relay
