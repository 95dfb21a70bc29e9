// Reading Redis in tests with a client of our own, one command at a time, on the io_context
// the client runs on (so whatever else runs on it goes on meanwhile).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "support/run_until.h"
#include "transport/redis_client.h"

namespace wzp::testing {

// The reply, once the client is up (waiting up to 3 s for it) and the reply is in (3 s);
// nullopt when the command failed or timed out.
inline std::optional<proto::RespValue> redis_ask(boost::asio::io_context& io,
                                                 transport::RedisClient& redis,
                                                 std::vector<std::string> args) {
  run_until(
      io, [&] { return redis.up(); }, 3000);
  bool done = false;
  std::optional<proto::RespValue> out;
  redis.command(std::move(args), [&](const proto::RespValue* r) {
    done = true;
    if (r) out = *r;
  });
  run_until(
      io, [&] { return done; }, 3000);
  return out;
}

// An array reply's elements as text, or a single reply's text; nothing for a failure.
inline std::vector<std::string> redis_items(const std::optional<proto::RespValue>& v) {
  std::vector<std::string> out;
  if (!v) return out;
  for (const auto& i : v->items) out.push_back(i.text);
  if (v->type != proto::RespValue::Type::kArray && !v->text.empty()) out.push_back(v->text);
  return out;
}

}  // namespace wzp::testing
