// Whole calls through hostile paths with real processes: a wzp-relay, a wzp-netem in front of
// the receiving client (and, for "both legs", another in front of the sender), and two
// wzp-client processes: one sends the probe signal (codec/listening.h), the other records.
// What a listener hears is measured from the recording alone: the share of the probe's 40 ms
// segments that arrived as themselves (fidelity) and the mouth-to-ear delay, by aligning the
// recording with what was sent on the machine's monotonic clock (both clients mark it in their
// metrics files). Beside each call, the WebRTC-style references (bench/reference_call.h) on the
// same seeded impairment, measured by the same listener. `wzp-bench hostile` is the same table
// in simulation (deterministic, seconds to run).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "chart.h"
#include "client/hostile_profiles.h"
#include "client/wav.h"
#include "proc_stats.h"
#include "process.h"
#include "proto/quality_profile.h"
#include "reference_call.h"
#include "speech.h"
#include "storm.h"
#include "suites.h"
#include "transport/endpoint.h"
#include "transport/quic.h"

namespace wzp::bench {
namespace {

namespace fs = std::filesystem;
using client::HostileProfile;

struct Run {
  const HostileProfile* profile = nullptr;
  bool both = false;
  bool speech = false;
  std::string
      label;  // the case name: the profile, ", both legs" where both are impaired, ", speech"
  codec::ListeningResult heard;
  std::vector<codec::ListeningSecond> seconds;
  double kbps = 0;                 // sender's datagrams on the wire
  double measured_loss = -1;       // what the receiver reported before FEC, mean
  double path_loss = -1;           // what the emulator did on the receiver's path
  std::vector<std::string> tiers;  // sender's, per second
  ReferenceResult lbrr, red;
  bool ok = false;
};

std::vector<std::string> netem_flags(const transport::ImpairmentConfig& c) {
  std::vector<std::string> f;
  const auto num = [](double v) {
    std::ostringstream o;
    o << v;
    return o.str();
  };
  if (c.loss > 0) f.insert(f.end(), {"--loss", num(100 * c.loss)});
  if (c.burst_loss > 0)
    f.insert(f.end(), {"--burst-loss", num(100 * c.burst_loss), "--burst", num(c.mean_burst)});
  if (c.delay_ms > 1) f.insert(f.end(), {"--delay", num(c.delay_ms)});
  if (c.jitter_ms) f.insert(f.end(), {"--jitter", num(c.jitter_ms)});
  if (c.rate_kbps) f.insert(f.end(), {"--rate", num(c.rate_kbps)});
  for (const auto& o : c.outages)
    f.insert(f.end(), {"--outage", num(o.start_ms / 1000.0) + ":" + num(o.duration_ms / 1000.0)});
  if (!c.loss_steps.empty()) {
    std::string steps;
    for (double l : c.loss_steps) steps += (steps.empty() ? "" : ",") + num(100 * l);
    f.insert(f.end(), {"--loss-steps", steps, "--step", num(c.step_ms / 1000.0)});
  }
  return f;
}

struct Metrics {
  std::vector<nlohmann::json> seconds;
  std::optional<double> send_start, record_start;
};

Metrics read_metrics(const fs::path& file) {
  Metrics m;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("event")) {
      const double t = j.value("monotonic_ms", 0.0);
      if (j["event"] == "send_start") m.send_start = t;
      if (j["event"] == "record_start") m.record_start = t;
      continue;
    }
    m.seconds.push_back(j);
  }
  return m;
}

// The emulator's counters for packets towards the client behind it ("down").
struct PathCounters {
  double in = 0, lost = 0;
};
// One direction of a wzp-netem counter line: `down` (toward the client) or `up`.
std::optional<PathCounters> parse_netem(const std::string& line, bool down = true) {
  static const std::regex to_client(
      R"(down: in (\d+) out \d+ lost (\d+) outage (\d+) queue (\d+))");
  static const std::regex to_relay(R"(up: in (\d+) out \d+ lost (\d+) outage (\d+) queue (\d+))");
  std::smatch m;
  if (!std::regex_search(line, m, down ? to_client : to_relay)) return std::nullopt;
  return PathCounters{std::stod(m[1]), std::stod(m[2]) + std::stod(m[3]) + std::stod(m[4])};
}

// What the talker sends: the tone probe (seed 11) or a minute of espeak-ng speech, repeated.
codec::ProbeSignal test_signal(bool speech, int seconds) {
  if (!speech) return codec::make_probe_signal(seconds, 11);
  static const auto pcm = interop::espeak_speech(interop::speech_passage());
  if (pcm.empty())
    std::fprintf(stderr,
                 "wzp-bench: no speech: needs espeak-ng and sox (scripts/install-deps.sh)\n");
  return codec::make_speech_signal(pcm, seconds);
}

std::string case_name(const HostileProfile& p, bool both, bool speech) {
  return p.name + (both ? ", both legs" : "") + (speech ? ", speech" : "");
}

Run run_profile(const HostileProfile& p, bool both, bool speech, int seconds, const fs::path& dir,
                Storm* storm = nullptr) {
  using testing::Process;
  Run r;
  r.profile = &p;
  r.both = both;
  r.speech = speech;
  r.label = case_name(p, both, speech);
  const std::string bin = bin_dir();
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto probe = test_signal(speech, seconds);
  if (probe.pcm.empty()) return r;
  {
    client::WavWriter w((dir / "probe.wav").string());
    w.write(probe.pcm.data(), probe.pcm.size());
  }
  const char* workers = std::getenv("WZP_BENCH_WORKERS");  // unset: the relay's default
  Process relay({bin + "/wzp-relay", "--listen", "127.0.0.1:0", "--state-dir",
                 (dir / "relay").string(), "--metrics-listen", "127.0.0.1:0", "--workers",
                 workers ? workers : "0"});
  std::string relay_addr, metrics_at;
  const std::regex listening(R"(listening on (127\.0\.0\.1:\d+))");
  const std::regex metrics_on(R"(metrics on http://(127\.0\.0\.1:\d+)/metrics)");
  while (auto line = relay.read_line(std::chrono::seconds(10))) {
    std::smatch m;
    if (std::regex_search(*line, m, metrics_on)) metrics_at = m[1];
    if (std::regex_search(*line, m, listening)) {
      relay_addr = m[1];
      if (!metrics_at.empty()) break;
    }
  }
  if (relay_addr.empty()) return r;
  const auto netem = [&](uint64_t seed) {
    const std::string at = "127.0.0.1:" + std::to_string(testing::free_udp_port());
    std::vector<std::string> a = {bin + "/wzp-netem",  "--listen", at,
                                  "--upstream",        relay_addr, "--seed",
                                  std::to_string(seed)};
    const auto f = netem_flags(p.path);
    a.insert(a.end(), f.begin(), f.end());
    // With WZP_BENCH_KEEP, each proxy's per-packet log is kept beside the call's other files.
    if (std::getenv("WZP_BENCH_KEEP") != nullptr)
      a.insert(a.end(), {"--log", (dir / ("netem-" + std::to_string(seed) + ".csv")).string()});
    auto proc = std::make_unique<Process>(a);
    proc->read_line(std::chrono::seconds(5));
    return std::make_pair(std::move(proc), at);
  };
  auto [rx_path, rx_at] = netem(p.path.seed);
  std::unique_ptr<Process> tx_path;
  std::string tx_at = relay_addr;
  if (both) std::tie(tx_path, tx_at) = netem(p.path.seed + 1000);
  const auto client = [&](const std::string& name, const std::string& at,
                          std::vector<std::string> extra) {
    std::vector<std::string> a = {bin + "/wzp-client",
                                  at,
                                  "--room",
                                  "network",
                                  "--identity",
                                  (dir / (name + ".id")).string(),
                                  "--known-relays",
                                  (dir / (name + ".pins")).string(),
                                  "--metrics-file",
                                  (dir / (name + ".jsonl")).string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(a);
  };
  const auto rx_started = std::chrono::steady_clock::now();
  auto rx =
      client("rx", rx_at,
             {"--record", (dir / "rx.wav").string(), "--duration", std::to_string(seconds + 5)});
  for (int i = 0; i < 20; ++i) {
    auto line = rx->read_line(std::chrono::milliseconds(500));
    if (line && line->find("joined room") != std::string::npos) break;  // the listener is in
  }
  auto tx = client(
      "tx", tx_at,
      {"--send-file", (dir / "probe.wav").string(), "--duration", std::to_string(seconds + 3)});
  // What the proxies did to the talker's stream: the listener's leg toward it, and with both
  // legs impaired the talker's leg toward the relay.
  // Each proxy prints its counters every second: kept with when they were read, so that the
  // path's loss is taken over the seconds the listener measured (rx_started: the listener's
  // seconds count from about then).
  struct Reading {
    std::chrono::steady_clock::time_point at;
    PathCounters c;
  };
  std::vector<Reading> readings, tx_readings;
  const auto drain = [&](Process& n, bool down = true) {
    while (auto line = n.read_line(std::chrono::milliseconds(10))) {  // (read_line rounds down)
      if (auto c = parse_netem(*line, down))
        (down ? readings : tx_readings).push_back({std::chrono::steady_clock::now(), *c});
    }
  };
  std::atomic<bool> stop{false};
  std::thread storming;
  if (storm)
    storming =
        std::thread([&] { send_storm(*storm, relay_addr, static_cast<double>(seconds), stop); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds + 40);
  while (std::chrono::steady_clock::now() < deadline) {
    drain(*rx_path);
    if (tx_path) drain(*tx_path, false);
    if (storm) storm->rss_max_kb = std::max(storm->rss_max_kb, sample_process(relay.pid()).rss_kb);
    auto line = rx->read_line(std::chrono::milliseconds(storm ? 250 : 500));
    if (!line && rx->poll_exit()) break;
  }
  stop = true;
  if (storming.joinable()) storming.join();
  if (const auto text = fetch_http("http://" + metrics_at + "/metrics")) {
    if (storm) {
      storm->dropped = metric_value(*text, "wzp_relay_quic_packets_dropped_total");
      storm->retries = metric_value(*text, "wzp_relay_quic_retries_total");
    }
    std::ofstream(dir / "relay.metrics") << *text;  // for WZP_BENCH_KEEP's closer look
  }
  drain(*rx_path);
  if (tx_path) drain(*tx_path, false);
  tx->wait(std::chrono::seconds(10));
  const auto rxm = read_metrics(dir / "rx.jsonl");
  const auto txm = read_metrics(dir / "tx.jsonl");
  if (!rxm.record_start || !txm.send_start || !fs::exists(dir / "rx.wav")) return r;
  const auto wav = client::read_wav((dir / "rx.wav").string());
  // Recording sample k played at record_start + k/48 ms; probe sample j was captured at
  // send_start + j/48 ms: the alignment's lag plus the difference of the two starts.
  r.heard = codec::listen(probe, wav.mono, *rxm.record_start - *txm.send_start, 1000);
  r.seconds = codec::per_second(r.heard);
  double kbps = 0, loss = 0;
  size_t n = 0;
  for (size_t i = 1; i < txm.seconds.size() && i < static_cast<size_t>(seconds); ++i) {
    kbps += txm.seconds[i].value("bitrate_kbps", 0.0);
    ++n;
  }
  for (const auto& s : txm.seconds) r.tiers.push_back(s.value("tier", ""));
  // The listener's figure, a mean over the seconds it had the talker's stream to measure, from
  // the stream's second second (the first one's report may be from before the first frame),
  // and the proxies' over the same seconds, a mean of seconds too: the packets a second carry
  // change with the protection, and a mean weighted by them would differ from the listener's
  // where the loss changes.
  const auto nearest = [&](const std::vector<Reading>& rs, double s) {
    const auto at = rx_started + std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
    const Reading* best = &rs.front();
    for (const auto& x : rs) {
      if (std::chrono::abs(x.at - at) < std::chrono::abs(best->at - at)) best = &x;
    }
    return best->c;
  };
  // The share a proxy let through in the second that ended at `s` (nothing known: all of it).
  const auto through = [&](const std::vector<Reading>& rs, double s) {
    if (rs.empty()) return 1.0;
    const PathCounters a = nearest(rs, s - 1), b = nearest(rs, s);
    return b.in > a.in ? 1 - (b.lost - a.lost) / (b.in - a.in) : 1.0;
  };
  size_t m = 0;
  double path = 0;
  bool streaming = false;
  for (size_t i = 2; i < rxm.seconds.size() && i < static_cast<size_t>(seconds); ++i) {
    const auto& sec = rxm.seconds[i];
    if (sec.value("members", 0) == 0 || sec.value("decoded", 0) == 0) continue;
    if (!std::exchange(streaming, true)) continue;
    loss += sec.value("loss_percent", 0.0);
    const double t = sec.value("t", 0.0);
    // End to end: a packet arrives when both legs let it through.
    path += 100 * (1 - through(readings, t) * through(tx_readings, t));
    ++m;
  }
  r.kbps = n ? kbps / static_cast<double>(n) : 0;
  r.measured_loss = m ? loss / static_cast<double>(m) : -1;
  if (m && !readings.empty()) r.path_loss = path / static_cast<double>(m);
  r.lbrr = run_reference(Reference::kLbrr, p, probe, both);
  r.red = run_reference(Reference::kRed2, p, probe, both);
  r.ok = true;
  return r;
}

std::string html_report(const std::vector<Run>& runs, int seconds, bool simulated);

std::string g_html;
int g_seconds = 20;
std::string g_legs = "one";
std::string g_signal = "tone";
std::vector<std::string> g_profiles;

std::vector<bool> chosen_signals() {
  std::vector<bool> out;  // speech?
  if (g_signal != "speech") out.push_back(false);
  if (g_signal != "tone") out.push_back(true);
  return out;
}

std::vector<const HostileProfile*> chosen_profiles() {
  std::vector<const HostileProfile*> out;
  for (const auto& p : client::hostile_profiles()) {
    if (g_profiles.empty() ||
        std::find(g_profiles.begin(), g_profiles.end(), p.name) != g_profiles.end()) {
      out.push_back(&p);
    }
  }
  return out;
}

void add_rows(std::vector<Measurement>& out, const std::string& suite, const Run& r) {
  out.push_back({suite, r.label, "fidelity", r.heard.fidelity_percent, "%",
                 r.lbrr.heard.fidelity_percent, true});
  out.push_back({suite, r.label, "fidelity vs RED x2", r.heard.fidelity_percent, "%",
                 r.red.heard.fidelity_percent, true});
  out.push_back({suite, r.label, "mouth-to-ear", r.heard.mouth_to_ear_ms, "ms",
                 r.lbrr.heard.mouth_to_ear_ms, false});
  out.push_back({suite, r.label, "mouth-to-ear vs RED x2", r.heard.mouth_to_ear_ms, "ms",
                 r.red.heard.mouth_to_ear_ms, false});
  out.push_back({suite, r.label, "mouth-to-ear p95", r.heard.mouth_to_ear_p95_ms, "ms", {}, false});
  out.push_back({suite, r.label, "bitrate on the wire", r.kbps, "kbit/s", r.lbrr.wire_kbps, false});
  if (r.path_loss >= 0)
    out.push_back({suite, r.label, "loss on the path", r.path_loss, "%", {}, false});
  if (r.measured_loss >= 0)
    out.push_back({suite, r.label, "loss measured before FEC", r.measured_loss, "%", {}, false});
}

void progress(const Run& r, size_t i, size_t n) {
  std::fprintf(
      stderr,
      "  [%zu/%zu] %-40s fidelity %6.2f %% (LBRR %6.2f, RED x2 %6.2f)  mouth-to-ear %4.0f ms "
      "(LBRR %4.0f, RED x2 %4.0f)  %5.1f kbit/s\n",
      i, n, r.label.c_str(), r.heard.fidelity_percent, r.lbrr.heard.fidelity_percent,
      r.red.heard.fidelity_percent, r.heard.mouth_to_ear_ms, r.lbrr.heard.mouth_to_ear_ms,
      r.red.heard.mouth_to_ear_ms, r.kbps);
  // Where in the call the misses were (the HTML report charts the same).
  std::string line = "        per second, % heard:";
  for (const auto& s : r.seconds) {
    line += ' ';
    line += std::isnan(s.fidelity_percent) ? std::string("-")
                                           : std::to_string(std::lround(s.fidelity_percent));
  }
  std::fprintf(stderr, "%s\n", line.c_str());
}

void write_html(const std::vector<Run>& runs, bool simulated) {
  if (g_html.empty()) return;
  std::ofstream(g_html) << html_report(runs, g_seconds, simulated);
  std::fprintf(stderr, "wzp-bench: report written to %s\n", g_html.c_str());
}

}  // namespace

void set_network_options(const std::string& html, int seconds, const std::string& legs,
                         const std::vector<std::string>& profiles, const std::string& signal) {
  g_html = html;
  g_seconds = seconds;
  g_legs = legs;
  g_profiles = profiles;
  g_signal = signal;
}

std::vector<Measurement> run_network_suite() {
  std::vector<Measurement> out;
  std::vector<Run> runs;
  const fs::path base =
      fs::temp_directory_path() / ("wzp-bench-network-" + std::to_string(getpid()));
  const auto profiles = chosen_profiles();
  std::vector<bool> legs;
  if (g_legs != "both") legs.push_back(false);
  if (g_legs != "one") legs.push_back(true);
  const auto signals = chosen_signals();
  const size_t total = profiles.size() * legs.size() * signals.size();
  for (bool speech : signals) {
    for (bool both : legs) {
      for (const auto* p : profiles) {
        std::fprintf(stderr, "  [%zu/%zu] %s: %d s call, logs in %s...\n", runs.size() + 1, total,
                     case_name(*p, both, speech).c_str(), g_seconds, base.c_str());
        Run r = run_profile(*p, both, speech, g_seconds, base / std::to_string(runs.size()));
        if (!r.ok) std::fprintf(stderr, "  %s: the call did not complete\n", r.label.c_str());
        progress(r, runs.size() + 1, total);
        add_rows(out, "network", r);
        runs.push_back(std::move(r));
      }
    }
  }
  // WZP_BENCH_KEEP=1 keeps every call's logs, recordings and metrics files for a closer look.
  if (std::getenv("WZP_BENCH_KEEP") == nullptr) {
    fs::remove_all(base);
  } else {
    std::fprintf(stderr, "  logs kept in %s\n", base.c_str());
  }
  write_html(runs, false);
  return out;
}

// wzp-bench storm: the same clean call twice, the second through a storm at the relay of
// 1 000 000 malformed datagrams from one address and 10 000 QUIC Initials from another. What
// the listener hears, and the relay's memory, beside the call without the storm.
std::vector<Measurement> run_storm_suite() {
  std::vector<Measurement> out;
  const fs::path base = fs::temp_directory_path() / ("wzp-bench-storm-" + std::to_string(getpid()));
  const auto* clean = client::hostile_profile("clean");
  const int seconds = g_seconds;
  Storm calm, storm;
  storm.garbage = 1'000'000;
  storm.initials = 10'000;
  std::fprintf(stderr, "  [1/2] a clean %d s call, no storm...\n", seconds);
  const Run a = run_profile(*clean, false, false, seconds, base / "calm", &calm);
  std::fprintf(
      stderr,
      "  [2/2] the same call through 1 000 000 malformed datagrams and 10 000 Initials...\n");
  const Run b = run_profile(*clean, false, false, seconds, base / "storm", &storm);
  if (!a.ok || !b.ok) std::fprintf(stderr, "  a call did not complete\n");
  std::fprintf(stderr,
               "  fidelity %.2f %% in the storm, %.2f %% without; relay RSS at most %.0f kB, %.0f "
               "kB without; "
               "the relay dropped %.0f packets and sent %.0f Retries (%lu and %lu sent)\n",
               b.heard.fidelity_percent, a.heard.fidelity_percent, storm.rss_max_kb,
               calm.rss_max_kb, storm.dropped, storm.retries,
               static_cast<unsigned long>(storm.garbage_sent),
               static_cast<unsigned long>(storm.initials_sent));
  const std::string c = "clean call, storm at the relay";
  out.push_back(
      {"storm", c, "fidelity", b.heard.fidelity_percent, "%", a.heard.fidelity_percent, true});
  out.push_back(
      {"storm", c, "mouth-to-ear", b.heard.mouth_to_ear_ms, "ms", a.heard.mouth_to_ear_ms, false});
  out.push_back({"storm", c, "relay RSS, most", storm.rss_max_kb, "kB", calm.rss_max_kb, false});
  out.push_back({"storm",
                 c,
                 "malformed datagrams sent",
                 static_cast<double>(storm.garbage_sent),
                 "",
                 {},
                 true});
  out.push_back(
      {"storm", c, "Initials sent", static_cast<double>(storm.initials_sent), "", {}, true});
  out.push_back({"storm", c, "packets the relay dropped", storm.dropped, "", {}, true});
  out.push_back({"storm", c, "Retries the relay sent", storm.retries, "", {}, true});
  if (std::getenv("WZP_BENCH_KEEP") == nullptr) fs::remove_all(base);
  return out;
}

std::vector<Measurement> run_hostile_suite() {
  std::vector<Measurement> out;
  std::vector<Run> runs;
  const auto profiles = chosen_profiles();
  const auto signals = chosen_signals();
  for (bool speech : signals)
    for (const auto* p : profiles) {
      Run r;
      r.profile = p;
      r.speech = speech;
      r.label = case_name(*p, false, speech);
      const auto probe = test_signal(speech, g_seconds);
      if (probe.pcm.empty()) continue;
      const auto sim = client::simulate_listening(*p, static_cast<uint32_t>(g_seconds), probe);
      r.heard = sim.heard;
      r.seconds = codec::per_second(r.heard);
      r.kbps = sim.wire_kbps;
      r.measured_loss = sim.measured_loss_percent;
      r.path_loss = sim.path_loss_percent;
      for (int t : sim.tier_by_second)
        r.tiers.emplace_back(proto::tier_name(static_cast<proto::Tier>(t)));
      r.lbrr = run_reference(Reference::kLbrr, *p, probe);
      r.red = run_reference(Reference::kRed2, *p, probe);
      r.ok = true;
      progress(r, runs.size() + 1, profiles.size() * signals.size());
      add_rows(out, "hostile", r);
      runs.push_back(std::move(r));
    }
  write_html(runs, true);
  return out;
}

namespace {

std::string html_report(const std::vector<Run>& runs, int seconds, bool simulated) {
  std::string h =
      R"(<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>WarzonePhone network report</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}h2{margin-top:2rem}.ok{color:#080}.short{color:#b00}</style></head><body>
<h1>WarzonePhone network report</h1>)";
  h += "<p><small>" + run_stamp() + "</small></p>";
  char buf[1400];
  std::snprintf(
      buf, sizeof buf,
      "<p>%s, %d s calls of the probe signal (40 ms tone segments, seed 11), or of espeak-ng "
      "speech in the rows marked speech, through each profile (seed 7); what a listener hears, "
      "from the recording alone: <b>fidelity</b> is the share of 40 ms segments (of speech: those "
      "that move on from the 20 ms before) that arrived as themselves, <b>mouth-to-ear</b> the "
      "delay from "
      "capture to playout by alignment (median). References on the same seeded impairment: "
      "%s and %s, each with an ideal playout buffer. Reproduce with "
      "<code>build/bin/wzp-bench %s --html report.html</code>.</p>",
      simulated ? "Simulated calls (the impairment model of wzp-netem on a simulated clock)"
                : "Real processes: wzp-relay, wzp-netem, two wzp-client",
      seconds, reference_name(Reference::kLbrr).c_str(), reference_name(Reference::kRed2).c_str(),
      simulated ? "hostile" : "network");
  h += buf;
  // A delay where something arrived; a dash where nothing did.
  const auto delay = [](const codec::ListeningResult& l) {
    return l.intact ? std::to_string(static_cast<long>(std::lround(l.mouth_to_ear_ms))) + " ms"
                    : std::string("–");
  };
  h += "<table><tr><th>profile</th><th>fidelity</th><th>LBRR</th><th>RED "
       "x2</th><th>mouth-to-ear</th>"
       "<th>LBRR</th><th>RED x2</th><th>kbit/s</th><th>loss path / measured</th></tr>";
  for (const auto& r : runs) {
    std::snprintf(
        buf, sizeof buf,
        "<tr><td>%s</td><td>%.2f %%</td><td>%.2f %%</td><td>%.2f %%</td><td>%s</td><td>%s</td>"
        "<td>%s</td><td>%.1f</td><td>%.1f / %.1f %%</td></tr>",
        r.label.c_str(), r.heard.fidelity_percent, r.lbrr.heard.fidelity_percent,
        r.red.heard.fidelity_percent, delay(r.heard).c_str(), delay(r.lbrr.heard).c_str(),
        delay(r.red.heard).c_str(), r.kbps, r.path_loss, r.measured_loss);
    h += buf;
  }
  h += "</table><h2>Fidelity and delay per profile</h2>";
  {
    const double w = 900, bh = 16, l = 250, scale_f = 2.6, scale_d = 0.35;
    std::snprintf(buf, sizeof buf,
                  "<svg viewBox=\"0 0 %g %g\" width=\"100%%\" xmlns=\"http://www.w3.org/2000/svg\" "
                  "font-family=\"sans-serif\" font-size=\"11\">",
                  w, bh * 4 * runs.size() + 20);
    h += buf;
    for (size_t i = 0; i < runs.size(); ++i) {
      const auto& r = runs[i];
      const double y = 10 + i * bh * 4;
      std::snprintf(buf, sizeof buf,
                    "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%s</text>"
                    "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"#1f77b4\"/><text "
                    "x=\"%g\" y=\"%g\">ours %.1f %%</text>"
                    "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"#aaa\"/><text "
                    "x=\"%g\" y=\"%g\">LBRR %.1f %% / RED x2 %.1f %%</text>"
                    "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"#ff7f0e\"/><text "
                    "x=\"%g\" y=\"%g\">mouth-to-ear %s (LBRR %s, RED x2 %s)</text>",
                    l - 8, y + bh, r.label.c_str(), l, y, r.heard.fidelity_percent * scale_f,
                    bh * 0.8, l + r.heard.fidelity_percent * scale_f + 4, y + bh * 0.7,
                    r.heard.fidelity_percent, l, y + bh, r.lbrr.heard.fidelity_percent * scale_f,
                    bh * 0.8, l + r.lbrr.heard.fidelity_percent * scale_f + 4, y + bh * 1.7,
                    r.lbrr.heard.fidelity_percent, r.red.heard.fidelity_percent, l, y + 2 * bh,
                    std::min(600.0, r.heard.mouth_to_ear_ms) * scale_d, bh * 0.8,
                    l + std::min(600.0, r.heard.mouth_to_ear_ms) * scale_d + 4, y + bh * 2.7,
                    delay(r.heard).c_str(), delay(r.lbrr.heard).c_str(),
                    delay(r.red.heard).c_str());
      h += buf;
    }
    h += "</svg>";
  }
  const auto per_run = [&](const std::function<std::vector<double>(const Run&)>& values) {
    std::vector<Series> out;
    for (const auto& r : runs) out.push_back({r.label, values(r)});
    return out;
  };
  const auto per_second = [&](const std::function<double(const codec::ListeningSecond&)>& f) {
    return per_run([&](const Run& r) {
      std::vector<double> v;
      for (const auto& s : r.seconds) v.push_back(f(s));
      return v;
    });
  };
  h += "<h2>Fidelity over time</h2>";
  h += line_chart(per_second([](const auto& s) { return s.fidelity_percent; }),
                  "segments arrived, per second of the probe", {.unit = "%", .y_max = 100});
  h += "<h2>Mouth-to-ear delay over time</h2>";
  h += line_chart(per_second([](const auto& s) {
                    return s.mouth_to_ear_ms < 0 ? std::numeric_limits<double>::quiet_NaN()
                                                 : s.mouth_to_ear_ms;
                  }),
                  "median delay of the segments that arrived, per second (gaps: nothing arrived)",
                  {.unit = "ms", .y_max = 600});
  h += "<h2>Tier over time (sender)</h2>";
  h += line_chart(per_run([](const Run& r) {
                    std::vector<double> v;
                    for (const auto& t : r.tiers)
                      v.push_back(t == "good" ? 0.0 : t == "degraded" ? 1.0 : 2.0);
                    return v;
                  }),
                  "tier",
                  {.y_max = 2, .steps = true, .y_labels = {"good", "degraded", "catastrophic"}});
  return h + "</body></html>\n";
}

}  // namespace
}  // namespace wzp::bench
