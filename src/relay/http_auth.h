// Token checks against an HTTP service (wzp-relay --auth-url): POST {"token": "..."} as JSON;
// the token is valid only on a 2xx reply whose JSON body has "valid": true. Any other 2xx or
// 4xx reply refuses it (with the body's "reason" when it gives one); no answer within the
// timeout, a 5xx or a malformed reply makes the service unavailable, which also refuses
// admission. The contract is in docs/OPERATIONS.md. Plain http:// only: run the service
// or a TLS-terminating proxy beside the relay.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "relay/auth_gate.h"

namespace wzp::relay {

struct HttpUrl {
  std::string host, port, target;
};
// "http://host[:port][/path]"; nullopt (with *error set) otherwise.
std::optional<HttpUrl> parse_http_url(const std::string& url, std::string* error);

class HttpAuthorizer {
 public:
  HttpAuthorizer(boost::asio::io_context& io, HttpUrl url,
                 std::chrono::milliseconds timeout = std::chrono::seconds(3));
  // Asynchronous: `done` is called once, on the io_context's thread.
  void check(const std::string& token, std::function<void(AuthVerdict)> done);
  Authorizer as_authorizer() {
    return [this](const std::string& t, std::function<void(AuthVerdict)> d) {
      check(t, std::move(d));
    };
  }

 private:
  boost::asio::io_context& io_;
  HttpUrl url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace wzp::relay
