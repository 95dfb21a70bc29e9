// The token check in front of a relay's signalling (--auth-url): a client's first message is
// its AuthToken, which the auth service judges; what follows it while the service answers is
// held (at most kMaxHeld messages) and handled in order once the token is valid. Relays
// announcing themselves (FederationHello) and their Pings pass: they can join nothing by that.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "relay/session.h"
#include "relay/stats.h"

namespace wzp::relay {

// What an auth service said of a token (--auth-url; see docs/OPERATIONS.md).
struct AuthVerdict {
  enum class Result { kValid, kRefused, kUnavailable } result = Result::kRefused;
  std::string reason;
};
using Authorizer =
    std::function<void(const std::string& token, std::function<void(AuthVerdict)> done)>;

class AuthGate {
 public:
  static constexpr size_t kMaxHeld = 64;

  explicit AuthGate(RelayStats& stats) : stats_(stats) {}
  void set_authorizer(Authorizer authorize) { authorize_ = std::move(authorize); }
  bool enabled() const { return static_cast<bool>(authorize_); }

  struct Step {
    enum class Kind {
      kPass,    // handle the message now
      kWait,    // held, or the token went to the service: `done` will be called
      kRefuse,  // hang up with `reason` (logged as `log_result`)
    } kind = Kind::kPass;
    std::string reason, log_result;
  };
  // `done` receives the service's verdict for the token in msg (call settle() with it).
  Step check(Session& s, const proto::SignalMessage& msg, std::function<void(AuthVerdict)> done);
  // The verdict for s's token: nullopt when valid (s.held then holds what waited, in order),
  // or the reason to hang up.
  std::optional<std::string> settle(Session& s, const AuthVerdict& v);

 private:
  RelayStats& stats_;
  Authorizer authorize_;
};

}  // namespace wzp::relay
