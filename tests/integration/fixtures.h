// What the process-level tests share: a wzp-relay started on an ephemeral port (its address
// and metrics address read from its output), wzp-client invocations with their own identity
// and pin files, metrics scraped with curl, and a scratch directory per test.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "client/wav.h"
#include "codec/audio_analysis.h"
#include "process.h"

namespace wzp::testing {

inline const std::string kBin = WZP_BIN_DIR;

inline std::filesystem::path fresh_dir(const std::string& name) {
  auto d =
      std::filesystem::temp_directory_path() / ("wzp-it-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// `argv` run with `hosts` as its /etc/hosts (a bind mount in a mount namespace of its own):
// host names that resolve to loopback addresses chosen by the test. Rewrite `hosts` in place
// (truncate, not rename) and the process sees the change at its next lookup.
inline std::vector<std::string> with_hosts(const std::filesystem::path& hosts,
                                           std::vector<std::string> argv) {
  std::vector<std::string> out = {
      "/usr/bin/unshare", "--mount", "/bin/sh", "-c",
      "mount --bind " + hosts.string() + " /etc/hosts && exec \"$0\" \"$@\""};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

// Whether with_hosts can work here (it needs root or user namespaces).
inline bool can_use_private_hosts() { return std::system("unshare --mount true 2>/dev/null") == 0; }

struct Relay {
  std::unique_ptr<Process> proc;
  std::string address, metrics;
  // `state` keeps its identity and certificate; `listen` may name a fixed port (restarts).
  // `hosts`: run with_hosts, and metrics on `listen`'s host.
  Relay(const std::filesystem::path& state, std::vector<std::string> extra = {},
        const std::string& listen = "127.0.0.1:0", const std::filesystem::path& hosts = {}) {
    const std::string metrics_listen =
        hosts.empty() ? "127.0.0.1:0" : listen.substr(0, listen.rfind(':')) + ":0";
    std::vector<std::string> argv = {kBin + "/wzp-relay", "--listen",     listen,
                                     "--state-dir",       state.string(), "--metrics-listen",
                                     metrics_listen};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!hosts.empty()) argv = with_hosts(hosts, argv);
    proc = std::make_unique<Process>(argv);
    const std::regex listening(R"(listening on (127\.\d+\.\d+\.\d+:\d+))");
    const std::regex metrics_at(R"(metrics on http://(127\.\d+\.\d+\.\d+:\d+)/metrics)");
    while (auto line = proc->read_line(std::chrono::seconds(10))) {
      std::smatch m;
      if (std::regex_search(*line, m, listening)) address = m[1];
      if (std::regex_search(*line, m, metrics_at)) metrics = m[1];
      if (!address.empty() && !metrics.empty()) break;
    }
  }
  // The /metrics text ("" when it cannot be fetched); also saved to `file` for promtool.
  std::string scrape(const std::filesystem::path& file) const { return get("/metrics", file); }
  // Any path of the metrics server, through `file`.
  std::string get(const std::string& path, const std::filesystem::path& file) const {
    if (std::system(("curl -sf http://" + metrics + path + " > " + file.string()).c_str()) != 0) {
      return {};
    }
    std::ifstream in(file);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
};

// wzp-client with its identity and relay pins under dir/NAME.*, then `args`.
inline std::unique_ptr<Process> client(const std::filesystem::path& dir, const std::string& name,
                                       const std::string& relay, std::vector<std::string> args) {
  std::vector<std::string> argv = {kBin + "/wzp-client",
                                   relay,
                                   "--identity",
                                   (dir / (name + ".id")).string(),
                                   "--known-relays",
                                   (dir / (name + ".pins")).string(),
                                   "--name",
                                   name};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<Process>(argv);
}

// The fingerprint of the identity in this file (created if it is missing).
inline std::string fingerprint_of(const std::filesystem::path& id) {
  Process p({kBin + "/wzp-client", "--show-identity", "--identity", id.string()});
  while (auto line = p.read_line(std::chrono::seconds(5))) {
    if (line->rfind("fingerprint: ", 0) == 0) return line->substr(13);
  }
  return {};
}

// Reads lines until one contains `what` (kept in `seen`), or the deadline.
inline bool wait_for(Process& p, const std::string& what, std::vector<std::string>& seen,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto line = p.read_line(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
    if (!line) return false;
    seen.push_back(*line);
    if (line->find(what) != std::string::npos) return true;
  }
  return false;
}

// The loudest second of a recording (in steps of 0.1 s): its dominant frequency and its RMS.
// {0, 0} when the recording is shorter than a second.
inline std::pair<double, double> loudest_second(const std::string& wav) {
  const auto rec = client::read_wav(wav);
  if (rec.mono.size() < 48000) return {0, 0};
  size_t best = 0;
  double best_rms = 0;
  for (size_t s = 0; s + 48000 <= rec.mono.size(); s += 4800) {
    const double r = codec::rms(std::span(rec.mono).subspan(s, 48000));
    if (r > best_rms) best_rms = r, best = s;
  }
  return {codec::dominant_frequency(std::span(rec.mono).subspan(best, 48000)), best_rms};
}

// The value of a metric line that starts with `series` (name plus labels), or -1.
inline double metric(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace wzp::testing
