// Presence and direct calls: a client registers its fingerprint (signed for this connection's
// challenge), another calls it by that fingerprint, the relay rings the callee and, once it
// accepts, names a private room that admits only the two. State is bounded: ids are short,
// a caller has at most kMaxRingingPerCaller calls ringing, the relay kMaxCalls in all, and a
// registration's ringing calls go with it.
//
// In a cluster (set_abroad), a callee registered on another relay is found through the
// directory and the call's signalling goes between the two relays' inboxes (directory.h): the
// offer rings on the callee's relay, which names the private room and hosts it; the caller's
// relay pipes the caller there (hosted_abroad: the cluster router asks). Each relay keeps the
// call under the same bounds, and takes from the other relay only messages about calls it
// shares with that relay.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "relay/relay_at.h"
#include "relay/session.h"
#include "relay/stats.h"

namespace wzp::relay {

inline constexpr size_t kMaxDisplayName = 64;          // bytes, in CallOffer and RegisterPresence
inline constexpr size_t kPresenceChallengeBytes = 16;  // the nonce a registration signs
inline constexpr size_t kMaxCallId = 64;               // bytes
inline constexpr size_t kMaxRingingPerCaller = 4;      // unanswered direct calls per registration
inline constexpr size_t kMaxCalls = 10000;             // direct calls the relay tracks at once

// The cluster, for callees registered on other relays.
struct CallsAbroad {
  // The relay where the fingerprint is registered (relay_id empty: nowhere); nullopt when the
  // directory cannot say.
  std::function<void(const std::string& fingerprint,
                     std::function<void(std::optional<RelayAt>)> done)>
      locate;
  // Sends a call message to the relay with that ID.
  std::function<void(const std::string& relay_id, const proto::SignalMessage& msg)> post;
  std::string self;  // this relay's ID
};

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

  void set_abroad(CallsAbroad abroad) { abroad_ = std::move(abroad); }
  // A call message from the relay `from` (its inbox).
  void on_abroad(const std::string& from, const proto::SignalMessage& msg);
  // The relay hosting this private room when it is another one (our party is piped there).
  std::optional<RelayAt> hosted_abroad(const std::string& room_sni) const;
  size_t calls() const { return calls_.size(); }
  size_t registered() const { return present_.size(); }
  // f(fingerprint) for every registration.
  template <class F>
  void for_each_registered(F&& f) const {
    for (const auto& entry : present_) f(entry.first);
  }

 private:
  struct Call {
    std::string caller, callee;  // fingerprints
    std::string room;            // room name once accepted; its SNI admits only these two
    // The other party's relay when it is not this one (relay_id empty: both are here), and
    // which party that is: on the caller's relay the callee is abroad, and the other way round.
    RelayAt abroad;
    bool callee_abroad = false;
    // Whether that party (the caller, or else the callee) is registered on this relay.
    bool here(bool caller) const { return abroad.relay_id.empty() || callee_abroad == caller; }
  };
  using Calls = std::map<std::string, Call>;  // by call_id

  Session* present(const std::string& fingerprint) const;
  std::string refusal(const proto::DirectCallOffer& offer, const std::string& caller) const;
  void located(const proto::DirectCallOffer& offer, const std::optional<RelayAt>& at);
  // To a party: its session when it is registered here, else its relay.
  void tell(const Call& call, bool to_caller, const proto::SignalMessage& m);
  void end(Calls::iterator it);
  void refuse_abroad(const std::string& from, const std::string& call_id, const std::string& why);

  RelayStats& stats_;
  std::function<uint64_t()> wall_ms_;
  CallsAbroad abroad_;
  Calls calls_;
  std::map<std::string, std::set<std::string>> parties_;  // private room SNI -> fingerprints
  std::map<std::string, RelayAt> hosted_abroad_;          // private room SNI -> its host
  std::map<std::string, Session*> present_;  // fingerprint -> the session it registered last
};

}  // namespace wzp::relay
