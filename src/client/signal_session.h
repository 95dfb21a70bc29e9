// SignalSession: the connection to a relay that carries presence, direct calls and room
// membership, kept registered on its own.
//
// desired_relay is what the user wants now: set means "keep me connected to X", cleared means
// "the user asked to be idle" — which is what tells a dropped connection (retry) apart from a
// deregistration (stop). When the connection ends unexpectedly while a relay is desired, one
// reconnect supervisor runs (never two): it tries at once, then after 1, 2, 4, 8, 15, 30, 30,
// ... seconds, never giving up (proto::RedialSchedule, the one a call follows too); before each try
// it stops if the user deregistered or another path re-registered, and if the user picked another
// relay it resets the backoff and targets that one. Every transition is reported as an event.
//
// Fallbacks (the other relays of a cluster): the supervisor's tries go round the desired relay
// and the fallbacks in turn, starting after the relay just lost, so a relay that died is left
// for the next one at once; the registration stays where it lands (the cluster's directory
// finds it there) until it drops again.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "proto/redial_schedule.h"
#include "proto/scheduler.h"
#include "proto/signal_message.h"

namespace wzp::client {

// One signalling connection to a relay (QUIC in the apps; fakes in tests).
class SignalConnection {
 public:
  virtual ~SignalConnection() = default;
  virtual void send(const proto::SignalMessage& msg) = 0;
  // Closing from our side does not call on_closed.
  virtual void close() = 0;
  struct Handlers {
    std::function<void(const proto::SignalMessage&)> on_message;
    std::function<void(const std::string& reason)> on_closed;
  };
  virtual void set_handlers(Handlers handlers) = 0;
};

class SignalConnector {
 public:
  virtual ~SignalConnector() = default;
  using Done = std::function<void(std::unique_ptr<SignalConnection> conn, std::string error)>;
  // Starts connecting to relay; calls done exactly once, later, on the session's thread.
  virtual void connect(const std::string& relay, Done done) = 0;
};

struct SignalEvent {
  enum class Kind { kReconnecting, kRegistered, kDeregistered, kError } kind;
  std::string relay;
  uint32_t attempt = 0;        // kReconnecting: 1 for the first retry
  uint64_t next_delay_ms = 0;  // kReconnecting: wait before this attempt
  std::string fingerprint;     // kRegistered
  std::string reason;          // kError
};

class SignalSession {
 public:
  SignalSession(const crypto::Identity& identity, SignalConnector& connector,
                proto::Scheduler& scheduler, std::function<void(const SignalEvent&)> on_event,
                std::function<void(const proto::SignalMessage&)> on_message = {});
  ~SignalSession();

  // Keep me connected to `relay` (also how a front end switches relays). A no-op when
  // already registered, or registering, with that relay.
  void register_relay(const std::string& relay);
  // Where the supervisor tries after the desired relay, in turn.
  void set_fallbacks(std::vector<std::string> relays) { fallbacks_ = std::move(relays); }
  // Stop: clear the desired relay and close; no reconnect follows.
  void deregister();
  bool send(const proto::SignalMessage& msg);

  const std::optional<std::string>& desired_relay() const { return desired_; }
  bool registered() const { return registered_; }
  bool supervisor_running() const { return supervisor_; }
  // The relay the session is registered with (or trying now).
  const std::string& relay() const { return conn_relay_; }

 private:
  void connect_to(const std::string& relay);
  void on_connected(uint64_t generation, const std::string& relay,
                    std::unique_ptr<SignalConnection> conn, const std::string& error);
  void on_lost(uint64_t generation, const std::string& reason);
  void teardown();
  void start_supervisor();
  void supervise();
  const std::string& next_target() const;  // the desired relay, then the fallbacks, in turn
  void emit(SignalEvent e) {
    if (on_event_) on_event_(e);
  }

  const crypto::Identity& identity_;
  SignalConnector& connector_;
  proto::Scheduler& scheduler_;
  std::function<void(const SignalEvent&)> on_event_;
  std::function<void(const proto::SignalMessage&)> on_message_;

  std::optional<std::string> desired_;
  std::unique_ptr<SignalConnection> conn_;
  std::string conn_relay_;
  bool connecting_ = false;
  bool registered_ = false;
  bool challenged_ = false;  // this connection's relay has given us its presence challenge
  uint64_t generation_ = 0;  // bumps on every teardown: late callbacks of old attempts are ignored

  bool supervisor_ = false;
  std::string supervised_for_;  // the desired relay when this supervisor run (re)started
  size_t tries_ = 0;            // tries in this run: which target is next
  std::string last_target_;     // the relay of the last connection attempt
  std::vector<std::string> fallbacks_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  proto::RedialSchedule redial_{scheduler_, [this] { supervise(); }};
};

}  // namespace wzp::client
