// The relay's settings, from a TOML file (--config) and flags: every flag can be set in the
// file, and a flag given on the command line wins. A bad file names the key and the problem.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace wzp::relay {

struct RelayOptions {
  std::string listen = "0.0.0.0:4433";
  std::string state_dir = "wzp-relay-state";  // wzp-relay: $STATE_DIRECTORY or ~/.wzp/relay
  std::string metrics_listen = "127.0.0.1:9464";
  uint64_t max_sessions = 1000;
  uint64_t max_participants = 100;
  double max_packet_rate = 400;
  double packet_burst = 800;
  uint64_t idle_timeout = 120;  // seconds; 0 never expires
  bool trunk_clients = false;
  uint64_t workers = 0;             // threads with an event loop each (workers.h); 0: one per core
  std::string remote;               // forward mode: every client piped to this relay
  std::vector<std::string> probes;  // peer relays to probe, HOST:PORT
  std::string auth_url;             // token checks, http://host:port/path
  std::string redis;                // the cluster directory's Redis, HOST:PORT (none: alone)
  std::string advertise;            // where clients reach this relay, for the directory
  std::string redis_user;           // Redis ACL user (empty: the default user)
  std::string redis_password_file;  // a file holding Redis's password (requirepass or the user's)
  std::string log_format = "text";  // text or json
  std::string log_level = "info";   // debug, info, warn or error
  // Room name -> the fingerprints allowed in it (rooms not listed are open).
  std::map<std::string, std::set<std::string>> acl;
};

// Reads `path` into `options` (only the keys present change). Throws std::runtime_error
// "config FILE: KEY: PROBLEM" for a syntax error, an unknown key or a wrong type or range.
void load_relay_config(const std::string& path, RelayOptions& options);

}  // namespace wzp::relay
