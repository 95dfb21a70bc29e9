#include "relay/auth_gate.h"

namespace wzp::relay {

AuthGate::Step AuthGate::check(Session& s, const proto::SignalMessage& msg,
                               std::function<void(AuthVerdict)> done) {
  using K = Step::Kind;
  if (!authorize_ || s.auth == Session::Auth::kValid) return {};
  if (std::holds_alternative<proto::FederationHello>(msg) ||
      std::holds_alternative<proto::Ping>(msg)) {
    return {};
  }
  if (s.auth == Session::Auth::kPending) {
    if (s.held.size() >= kMaxHeld) {
      ++stats_.signal_errors;
      return {K::kRefuse, "too many messages before the token was checked", {}};
    }
    s.held.push_back(msg);
    return {K::kWait, {}, {}};
  }
  const auto* token = std::get_if<proto::AuthToken>(&msg);
  if (!token) {
    ++stats_.auth_refused;
    return {K::kRefuse, "authentication required: send AuthToken first", "missing"};
  }
  s.auth = Session::Auth::kPending;
  authorize_(token->token, std::move(done));
  return {K::kWait, {}, {}};
}

std::optional<std::string> AuthGate::settle(Session& s, const AuthVerdict& v) {
  using R = AuthVerdict::Result;
  if (v.result == R::kValid) {
    ++stats_.auth_valid;
    s.auth = Session::Auth::kValid;
    return std::nullopt;
  }
  ++(v.result == R::kRefused ? stats_.auth_refused : stats_.auth_unavailable);
  return (v.result == R::kRefused ? "token refused: " : "auth service unavailable: ") + v.reason;
}

}  // namespace wzp::relay
