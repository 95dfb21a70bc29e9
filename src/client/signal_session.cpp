#include "client/signal_session.h"

#include <algorithm>
#include <chrono>

#include "crypto/handshake.h"

namespace wzp::client {

SignalSession::SignalSession(const crypto::Identity& identity, SignalConnector& connector,
                             proto::Scheduler& scheduler,
                             std::function<void(const SignalEvent&)> on_event,
                             std::function<void(const proto::SignalMessage&)> on_message)
    : identity_(identity),
      connector_(connector),
      scheduler_(scheduler),
      on_event_(std::move(on_event)),
      on_message_(std::move(on_message)) {}

SignalSession::~SignalSession() {
  *alive_ = false;
  redial_.cancel();
  teardown();
}

void SignalSession::register_relay(const std::string& relay) {
  if (desired_ == relay && (registered_ || connecting_ || supervisor_)) return;  // no-op
  desired_ = relay;
  if (supervisor_) {
    // A supervisor is waiting out a backoff: let it retarget now, with a fresh schedule.
    teardown();
    redial_.restart();
    return;
  }
  teardown();
  connect_to(relay);
}

void SignalSession::deregister() {
  desired_.reset();
  redial_.cancel();
  supervisor_ = false;
  teardown();
  emit({SignalEvent::Kind::kDeregistered});
}

bool SignalSession::send(const proto::SignalMessage& msg) {
  if (!conn_ || !registered_) return false;
  conn_->send(msg);
  return true;
}

void SignalSession::teardown() {
  ++generation_;
  if (conn_) conn_->close();
  conn_.reset();
  registered_ = false;
  connecting_ = false;
}

void SignalSession::connect_to(const std::string& relay) {
  connecting_ = true;
  last_target_ = relay;
  const uint64_t gen = generation_;
  auto alive = alive_;
  connector_.connect(
      relay, [this, alive, gen, relay](std::unique_ptr<SignalConnection> conn, std::string error) {
        if (*alive) on_connected(gen, relay, std::move(conn), error);
      });
}

void SignalSession::on_connected(uint64_t gen, const std::string& relay,
                                 std::unique_ptr<SignalConnection> conn, const std::string& error) {
  if (gen != generation_) {  // torn down meanwhile (deregistered, or switched relay)
    if (conn) conn->close();
    return;
  }
  connecting_ = false;
  if (!conn) {
    emit({SignalEvent::Kind::kError, relay, 0, 0, {}, "cannot reach " + relay + ": " + error});
    on_lost(gen, error);
    return;
  }
  conn_ = std::move(conn);
  conn_relay_ = relay;
  auto alive = alive_;
  conn_->set_handlers(
      {[this, alive, gen](const proto::SignalMessage& m) {
         if (!*alive || gen != generation_) return;
         if (const auto* ack = std::get_if<proto::RegisterPresenceAck>(&m)) {
           if (!ack->accepted && ack->challenge && !challenged_) {
             // The relay's nonce for this connection: our registration signs it (once; a
             // relay that keeps asking is refusing us).
             challenged_ = true;
             conn_->send(
                 crypto::make_presence(identity_, std::span<const uint8_t>(*ack->challenge)));
             return;
           }
           if (!ack->accepted) {
             emit({SignalEvent::Kind::kError,
                   conn_relay_,
                   0,
                   0,
                   {},
                   "registration refused: " + ack->reason.value_or("no reason given")});
             on_lost(gen, "registration refused");
             return;
           }
           registered_ = true;
           supervisor_ = false;  // done: the connection's own loop owns it from here
           redial_.cancel();
           redial_.reset();
           emit({SignalEvent::Kind::kRegistered, conn_relay_, 0, 0, identity_.fingerprint()});
           return;
         }
         if (on_message_) on_message_(m);
       },
       [this, alive, gen](const std::string& reason) {
         if (*alive) on_lost(gen, reason);
       }});
  challenged_ = false;
  conn_->send(crypto::make_presence(identity_));
}

void SignalSession::on_lost(uint64_t gen, const std::string&) {
  if (gen != generation_) return;
  teardown();
  if (!desired_) return;
  if (supervisor_) {
    // This attempt failed: wait out the next step of the backoff.
    if (const auto step = redial_.next()) {
      emit({SignalEvent::Kind::kReconnecting, next_target(), step->attempt, step->delay_ms});
    }
    return;
  }
  start_supervisor();
}

void SignalSession::start_supervisor() {
  supervisor_ = true;
  supervised_for_ = *desired_;
  // With fallbacks, the round starts after the relay just lost (or just tried): it is the one
  // known not to answer now.
  tries_ = 0;
  if (!fallbacks_.empty()) {
    const auto at = std::find(fallbacks_.begin(), fallbacks_.end(), last_target_);
    tries_ = at == fallbacks_.end() ? (last_target_ == *desired_ ? 1 : 0)
                                    : static_cast<size_t>(at - fallbacks_.begin()) + 2;
  }
  const auto step = redial_.restart();  // the first try is immediate
  emit({SignalEvent::Kind::kReconnecting, next_target(), step.attempt, step.delay_ms});
}

const std::string& SignalSession::next_target() const {
  const size_t n = 1 + fallbacks_.size();
  const size_t k = tries_ % n;
  return k == 0 ? *desired_ : fallbacks_[k - 1];
}

void SignalSession::supervise() {
  if (!desired_ || registered_) {  // deregistered, or another path got there first
    supervisor_ = false;
    return;
  }
  if (*desired_ != supervised_for_) {  // the user picked another relay meanwhile
    supervised_for_ = *desired_;
    tries_ = 0;
    emit({SignalEvent::Kind::kReconnecting, *desired_, 1, 0});
  }
  if (connecting_) return;  // an attempt is already in flight; its outcome drives us on
  const std::string target = next_target();
  ++tries_;
  connect_to(target);
}

}  // namespace wzp::client
