// wzp-client's command line: every option, its flag and its check, in one struct.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "client/jitter_sweep.h"

namespace wzp::apps {

struct ClientOptions {
  std::string relay, room = "lobby", name, identity_path, pins;
  std::string secret;
  bool new_secret = false, constant_rate = false;
  std::vector<std::string> expect;     // fingerprints we hand our key to (empty: everyone listed)
  std::vector<std::string> fallbacks;  // other relays of the cluster, numeric HOST:PORT
  bool show_identity = false, show_mnemonic = false, restore = false;
  double tone_secs = 0, tone_hz = 440;
  bool do_register = false, auto_answer = false;
  std::string call_fp, token, send_file, record;
  double duration = 0;
  std::string profile = "auto";
  bool live = false;
  double echo_secs = 0, drift_secs = 0, skew_ppm = 0;
  bool sweep = false;
  std::string sweep_out = "sweep.svg";
  client::SweepOptions sweep_opt;
  std::string metrics_file;

  // Anything that makes a call do something (a bare `wzp-client HOST:PORT` would sit silent
  // and deaf in the lobby).
  bool acts() const {
    return tone_secs > 0 || !send_file.empty() || !record.empty() || live || echo_secs > 0 ||
           drift_secs > 0 || !call_fp.empty() || auto_answer || do_register || duration > 0;
  }
};

// ~/.wzp/LEAF ("./.wzp/LEAF" without a HOME).
std::string home_path(const char* leaf);

void add_client_flags(CLI::App& app, ClientOptions& o);

}  // namespace wzp::apps
