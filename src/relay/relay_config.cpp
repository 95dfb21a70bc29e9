#include "relay/relay_config.h"

#include <toml++/toml.h>
#include <stdexcept>

namespace wzp::relay {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& key, const std::string& what) {
  throw std::runtime_error("config " + path + ": " + key + ": " + what);
}

}  // namespace

void load_relay_config(const std::string& path, RelayOptions& o) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw std::runtime_error("config " + path + ": line " + std::to_string(at.line) + ": " +
                             std::string(e.description()));
  }
  for (const auto& entry : t) {
    // Not a structured binding: clang 14 cannot capture those in the lambdas below.
    const toml::node& v = entry.second;
    const std::string key(entry.first.str());
    auto text = [&](std::string& out) {
      if (!v.is_string()) fail(path, key, "must be a string");
      out = *v.value<std::string>();
    };
    auto count = [&](uint64_t& out, uint64_t lo, uint64_t hi) {
      if (!v.is_integer()) fail(path, key, "must be a whole number");
      const int64_t n = *v.value<int64_t>();
      if (n < static_cast<int64_t>(lo) || static_cast<uint64_t>(n) > hi) {
        fail(path, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      }
      out = static_cast<uint64_t>(n);
    };
    auto number = [&](double& out, double lo) {
      if (!v.is_number()) fail(path, key, "must be a number");
      out = *v.value<double>();
      if (out < lo) fail(path, key, "must be at least " + std::to_string(lo));
    };
    if (key == "listen") {
      text(o.listen);
    } else if (key == "state_dir") {
      text(o.state_dir);
    } else if (key == "metrics_listen") {
      text(o.metrics_listen);
    } else if (key == "max_sessions") {
      count(o.max_sessions, 1, 1000000);
    } else if (key == "max_participants") {
      count(o.max_participants, 1, 100000);
    } else if (key == "max_packet_rate") {
      number(o.max_packet_rate, 1);
    } else if (key == "packet_burst") {
      number(o.packet_burst, 1);
    } else if (key == "idle_timeout") {
      count(o.idle_timeout, 0, 86400);
    } else if (key == "workers") {
      count(o.workers, 0, 64);
    } else if (key == "trunk_clients") {
      if (!v.is_boolean()) fail(path, key, "must be true or false");
      o.trunk_clients = *v.value<bool>();
    } else if (key == "remote") {
      text(o.remote);
    } else if (key == "auth_url") {
      text(o.auth_url);
    } else if (key == "redis") {
      text(o.redis);
    } else if (key == "advertise") {
      text(o.advertise);
    } else if (key == "redis_user") {
      text(o.redis_user);
    } else if (key == "redis_password_file") {
      text(o.redis_password_file);
    } else if (key == "log_format") {
      text(o.log_format);
      if (o.log_format != "text" && o.log_format != "json")
        fail(path, key, "must be \"text\" or \"json\"");
    } else if (key == "log_level") {
      text(o.log_level);
      if (o.log_level != "debug" && o.log_level != "info" && o.log_level != "warn" &&
          o.log_level != "error") {
        fail(path, key, "must be \"debug\", \"info\", \"warn\" or \"error\"");
      }
    } else if (key == "probe") {
      const auto* arr = v.as_array();
      if (!arr) fail(path, key, "must be an array of HOST:PORT strings");
      o.probes.clear();
      for (const auto& p : *arr) {
        if (!p.is_string()) fail(path, key, "addresses are strings");
        o.probes.push_back(*p.value<std::string>());
      }
    } else if (key == "acl") {
      const auto* rooms = v.as_table();
      if (!rooms) fail(path, key, "must be a table of room = [fingerprints]");
      for (const auto& [room, list] : *rooms) {
        const std::string rkey = "acl." + std::string(room.str());
        const auto* arr = list.as_array();
        if (!arr) fail(path, rkey, "must be an array of fingerprints");
        auto& allowed = o.acl[std::string(room.str())];
        for (const auto& fp : *arr) {
          if (!fp.is_string()) fail(path, rkey, "fingerprints are strings");
          allowed.insert(*fp.value<std::string>());
        }
      }
    } else {
      fail(path, key, "unknown setting");
    }
  }
}

}  // namespace wzp::relay
