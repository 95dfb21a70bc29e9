// SignalSession's connections over QUIC: one connection per registration to the relay (SNI
// room_sni("presence")), an AuthToken first when one is configured, and the liveness rule a
// call follows too (proto::Liveness): Pings every 500 ms; a dial unanswered for 3 s has failed,
// and a connection whose relay has said nothing for 3 s is lost (signalling has no state worth
// probing the path for: SignalSession redials on its schedule).
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "client/signal_session.h"
#include "proto/liveness.h"
#include "transport/quic.h"

namespace wzp::client {

struct QuicSignalOptions {
  std::string token;
  // The relay certificate's fingerprint, with the relay as given (pinning); null accepts.
  std::function<bool(const std::string& relay, const std::string& fingerprint)> verify;
  proto::LivenessRule liveness;
};

class QuicSignalConnector : public SignalConnector {
 public:
  QuicSignalConnector(boost::asio::io_context& io, QuicSignalOptions options);
  ~QuicSignalConnector() override;
  void connect(const std::string& relay, Done done) override;

  class Connection;

 private:
  friend class Connection;
  boost::asio::io_context& io_;
  QuicSignalOptions options_;
  std::map<Connection*, std::unique_ptr<Connection>> pending_;  // until established or failed
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for lookups still running
};

}  // namespace wzp::client
