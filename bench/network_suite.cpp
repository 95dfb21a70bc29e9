// Whole calls through hostile paths: a real wzp-relay, a wzp-netem in front of the receiving
// client, and two wzp-client processes (one sends a tone, one records), once per profile.
// Per profile: the share of playout slots filled with real audio, concealment, the delay the
// receiver adds (jitter buffer) on top of the path's, the bitrate on the wire and the tier
// over time. With --html, the same as a self-contained page with charts.
#include <sys/socket.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "process.h"
#include "suites.h"

namespace wzp::bench {
namespace {

namespace fs = std::filesystem;

struct Profile {
  std::string name;
  double loss_percent;                // nominal, for the chart
  double path_delay_ms;               // one way, mean, added by the emulator
  std::vector<std::string> netem;     // wzp-netem flags
};

const std::vector<Profile>& profiles() {
  static const std::vector<Profile> p = {
      {"clean", 0, 0, {}},
      {"5 % random loss", 5, 0, {"--loss", "5"}},
      {"20 % random loss", 20, 0, {"--loss", "20"}},
      {"40 % Gilbert-Elliott", 40, 0, {"--burst-loss", "40", "--burst", "3"}},
      {"3 s outage", 0, 0, {"--outage", "8:3"}},
      {"200 ± 80 ms jitter", 0, 200, {"--delay", "120", "--jitter", "160"}},
  };
  return p;
}

struct Second {
  double delay_ms = 0, concealed = 0, kbps = 0, loss = 0;
  std::string tier;
};

struct Run {
  const Profile* profile = nullptr;
  double filled = 0;  // percent of playout slots with decoded audio
  double mean_buffer_ms = 0, mean_kbps = 0;
  uint32_t reconnects = 0;
  std::vector<Second> rx, tx;  // per second, receiver and sender
  std::string tiers;            // "good 0 s, degraded 6 s, ..."
  bool ok = false;
};

std::string bin_dir() {
  return fs::canonical("/proc/self/exe").parent_path().string();
}


std::vector<Second> read_metrics(const fs::path& file) {
  std::vector<Second> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    Second s;
    s.delay_ms = j.value("buffer_delay_ms", 0.0);
    s.concealed = j.value("concealment_percent", 0.0);
    s.kbps = j.value("bitrate_kbps", 0.0);
    s.loss = j.value("loss_percent", 0.0);
    s.tier = j.value("tier", "");
    out.push_back(s);
  }
  return out;
}

Run run_profile(const Profile& p, int seconds, const fs::path& dir) {
  using testing::Process;
  Run r;
  r.profile = &p;
  const std::string bin = bin_dir();
  fs::remove_all(dir);
  fs::create_directories(dir);
  Process relay({bin + "/wzp-relay", "--listen", "127.0.0.1:0", "--state-dir", (dir / "relay").string(),
                 "--metrics-listen", "off"});
  std::string relay_addr;
  const std::regex listening(R"(listening on (127\.0\.0\.1:\d+))");
  while (auto line = relay.read_line(std::chrono::seconds(10))) {
    std::smatch m;
    if (std::regex_search(*line, m, listening)) {
      relay_addr = m[1];
      break;
    }
  }
  if (relay_addr.empty()) return r;
  const std::string netem_addr = "127.0.0.1:" + std::to_string(testing::free_udp_port());
  std::vector<std::string> nargs = {bin + "/wzp-netem", "--listen", netem_addr, "--upstream", relay_addr,
                                    "--seed", "7"};
  nargs.insert(nargs.end(), p.netem.begin(), p.netem.end());
  Process netem(nargs);
  netem.read_line(std::chrono::seconds(5));
  const auto client = [&](const std::string& name, const std::string& at, std::vector<std::string> extra) {
    std::vector<std::string> a = {bin + "/wzp-client", at, "--room", "network", "--identity",
                                  (dir / (name + ".id")).string(), "--known-relays",
                                  (dir / (name + ".pins")).string(), "--metrics-file",
                                  (dir / (name + ".jsonl")).string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(a);
  };
  // The receiver sits behind the impaired path; the sender joins once it is in.
  auto rx = client("rx", netem_addr, {"--record", (dir / "rx.wav").string(), "--duration",
                                      std::to_string(seconds + 4)});
  for (int i = 0; i < 20; ++i) {
    auto line = rx->read_line(std::chrono::milliseconds(500));
    if (line && line->find("connected") != std::string::npos) break;
  }
  auto tx = client("tx", relay_addr, {"--send-tone", std::to_string(seconds)});
  const std::regex filled(R"(playout filled with decoded audio ([0-9.]+) %)");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds + 30);
  while (std::chrono::steady_clock::now() < deadline) {
    auto line = rx->read_line(std::chrono::milliseconds(500));
    if (!line) {
      if (rx->poll_exit()) break;
      continue;
    }
    std::smatch m;
    if (std::regex_search(*line, m, filled)) r.filled = std::stod(m[1]);
  }
  tx->wait(std::chrono::seconds(10));
  r.rx = read_metrics(dir / "rx.jsonl");
  r.tx = read_metrics(dir / "tx.jsonl");
  // Steady state: the seconds while the tone played, after the first.
  double delay = 0, kbps = 0;
  size_t n = 0, m = 0;
  for (size_t i = 1; i < r.rx.size() && i < static_cast<size_t>(seconds); ++i) delay += r.rx[i].delay_ms, ++n;
  for (size_t i = 1; i < r.tx.size() && i < static_cast<size_t>(seconds); ++i) kbps += r.tx[i].kbps, ++m;
  r.mean_buffer_ms = n ? delay / n : 0;
  r.mean_kbps = m ? kbps / m : 0;
  std::string last;
  for (size_t i = 0; i < r.tx.size(); ++i) {
    if (r.tx[i].tier != last && !r.tx[i].tier.empty()) {
      if (!r.tiers.empty()) r.tiers += ", ";
      r.tiers += r.tx[i].tier + " from " + std::to_string(i) + " s";
      last = r.tx[i].tier;
    }
  }
  r.ok = r.filled > 0;
  return r;
}

std::string html_report(const std::vector<Run>& runs, int seconds);

std::string g_html;
int g_seconds = 20;

}  // namespace

void set_network_options(const std::string& html, int seconds) {
  g_html = html;
  g_seconds = seconds;
}

std::vector<Measurement> run_network_suite() {
  std::vector<Measurement> out;
  std::vector<Run> runs;
  const fs::path base = fs::temp_directory_path() / ("wzp-bench-network-" + std::to_string(getpid()));
  for (const auto& p : profiles()) {
    std::fprintf(stderr, "  %s: %d s call...\n", p.name.c_str(), g_seconds);
    Run r = run_profile(p, g_seconds, base / std::to_string(runs.size()));
    std::fprintf(stderr, "  %s: filled %.1f %%, buffer %.0f ms, %.1f kbit/s, tiers: %s\n",
                 p.name.c_str(), r.filled, r.mean_buffer_ms, r.mean_kbps, r.tiers.c_str());
    out.push_back({"network", p.name, "playout filled with real audio", r.filled, "%", {}, true});
    out.push_back({"network", p.name, "concealment", 100 - r.filled, "%", {}, false});
    out.push_back({"network", p.name, "added delay (path + jitter buffer)", p.path_delay_ms + r.mean_buffer_ms,
                   "ms", {}, false});
    out.push_back({"network", p.name, "bitrate on the wire (sender)", r.mean_kbps, "kbit/s", {}, false});
    runs.push_back(std::move(r));
  }
  fs::remove_all(base);
  if (!g_html.empty()) {
    std::ofstream(g_html) << html_report(runs, g_seconds);
    std::fprintf(stderr, "wzp-bench: network report written to %s\n", g_html.c_str());
  }
  return out;
}

namespace {

const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};

// A line chart of per-second series (one per run), as inline SVG.
std::string line_chart(const std::vector<Run>& runs, const std::string& title, const std::string& unit,
                       const std::function<double(const Run&, size_t)>& value,
                       const std::function<size_t(const Run&)>& length, double y_max, bool steps,
                       const std::vector<std::string>& y_labels = {}) {
  const double w = 760, h = 300, l = 70, r = 180, t = 30, b = 40;
  size_t max_len = 1;
  for (const auto& run : runs) max_len = std::max(max_len, length(run));
  const auto X = [&](double s) { return l + s / static_cast<double>(max_len) * (w - l - r); };
  const auto Y = [&](double v) { return h - b - std::min(v, y_max) / y_max * (h - t - b); };
  std::string s;
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "<svg viewBox=\"0 0 %g %g\" width=\"100%%\" xmlns=\"http://www.w3.org/2000/svg\" "
                "font-family=\"sans-serif\" font-size=\"12\"><text x=\"%g\" y=\"18\" "
                "font-size=\"14\" font-weight=\"bold\">%s</text>",
                w, h, l, title.c_str());
  s += buf;
  std::snprintf(buf, sizeof buf, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#444\"/>"
                "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#444\"/>",
                l, Y(0), w - r, Y(0), l, Y(0), l, t);
  s += buf;
  for (int i = 0; i <= 4; ++i) {
    const double v = y_max * i / 4;
    const std::string label = y_labels.empty() ? std::to_string(static_cast<int>(v)) + " " + unit
                                               : (i % 2 == 0 && i / 2 < static_cast<int>(y_labels.size()) ? y_labels[i / 2] : "");
    std::snprintf(buf, sizeof buf, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%s</text>"
                  "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#eee\"/>",
                  l - 6, Y(v) + 4, label.c_str(), l, Y(v), w - r, Y(v));
    s += buf;
  }
  for (size_t sec = 0; sec <= max_len; sec += std::max<size_t>(1, max_len / 6)) {
    std::snprintf(buf, sizeof buf, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%zu s</text>", X(sec),
                  Y(0) + 16, sec);
    s += buf;
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    std::string pts;
    for (size_t sec = 0; sec < length(runs[i]); ++sec) {
      const double v = value(runs[i], sec);
      if (steps && sec > 0) {
        std::snprintf(buf, sizeof buf, " %g,%g", X(sec), Y(value(runs[i], sec - 1)));
        pts += buf;
      }
      std::snprintf(buf, sizeof buf, " %g,%g", X(sec), Y(v));
      pts += buf;
    }
    std::snprintf(buf, sizeof buf, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                  kColors[i % 6]);
    s += buf + pts + "\"/>";
    std::snprintf(buf, sizeof buf, "<rect x=\"%g\" y=\"%g\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                  "<text x=\"%g\" y=\"%g\">%s</text>",
                  w - r + 10, t + 18.0 * i, kColors[i % 6], w - r + 25, t + 18.0 * i + 9,
                  runs[i].profile->name.c_str());
    s += buf;
  }
  return s + "</svg>";
}

std::string html_report(const std::vector<Run>& runs, int seconds) {
  std::string h = R"(<!doctype html><html><head><meta charset="utf-8"><title>WarzonePhone network report</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:900px;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.35rem .6rem;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child,td:last-child,th:last-child{text-align:left}h2{margin-top:2rem}</style></head><body>
<h1>WarzonePhone network report</h1>)";
  char buf[600];
  std::snprintf(buf, sizeof buf,
                "<p>Each profile: a real <code>wzp-relay</code>, <code>wzp-netem</code> in front of the "
                "receiving <code>wzp-client</code> (both directions of its path), a %d s 440 Hz tone "
                "from a second client, tier chosen by the controller (<code>--profile auto</code>). "
                "Reproduce with <code>build/bin/wzp-bench network --html report.html</code>.</p>",
                seconds);
  h += buf;
  h += "<table><tr><th>profile</th><th>filled with audio</th><th>concealed</th><th>added delay</th>"
       "<th>bitrate</th><th>tiers (sender)</th></tr>";
  for (const auto& r : runs) {
    std::snprintf(buf, sizeof buf,
                  "<tr><td>%s</td><td>%.1f %%</td><td>%.1f %%</td><td>%.0f ms</td><td>%.1f kbit/s</td><td>%s</td></tr>",
                  r.profile->name.c_str(), r.filled, 100 - r.filled,
                  r.profile->path_delay_ms + r.mean_buffer_ms, r.mean_kbps, r.tiers.c_str());
    h += buf;
  }
  h += "</table><h2>Loss against delivered audio</h2>";
  // Bars: nominal loss (grey) and audio delivered (colour), per profile.
  {
    const double w = 760, bh = 26, l = 180;
    std::snprintf(buf, sizeof buf, "<svg viewBox=\"0 0 %g %g\" width=\"100%%\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" font-size=\"12\">",
                  w, bh * 2 * runs.size() + 30);
    h += buf;
    for (size_t i = 0; i < runs.size(); ++i) {
      const double y = 10 + i * bh * 2;
      const double scale = (w - l - 60) / 100;
      std::snprintf(buf, sizeof buf,
                    "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%s</text>"
                    "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"#bbb\"/>"
                    "<text x=\"%g\" y=\"%g\">%.0f %% lost on the path</text>"
                    "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"%s\"/>"
                    "<text x=\"%g\" y=\"%g\">%.1f %% of playout real audio</text>",
                    l - 8, y + bh, runs[i].profile->name.c_str(), l, y, runs[i].profile->loss_percent * scale,
                    bh * 0.8, l + runs[i].profile->loss_percent * scale + 4, y + bh * 0.6,
                    runs[i].profile->loss_percent, l, y + bh, runs[i].filled * scale, bh * 0.8, kColors[i % 6],
                    l + 4, y + bh * 1.6, runs[i].filled);
      h += buf;
    }
    h += "</svg>";
  }
  h += "<h2>Jitter-buffer delay over time (receiver)</h2>";
  h += line_chart(runs, "playout delay", "ms", [](const Run& r, size_t s) { return r.rx[s].delay_ms; },
                  [](const Run& r) { return r.rx.size(); }, 1500, false);
  h += "<h2>Tier over time (sender)</h2>";
  h += line_chart(
      runs, "tier", "", [](const Run& r, size_t s) {
        const auto& t = r.tx[s].tier;
        return t == "good" ? 0.0 : t == "degraded" ? 1.0 : 2.0;
      },
      [](const Run& r) { return r.tx.size(); }, 2, true, {"good", "degraded", "catastrophic"});
  h += "<h2>Concealment over time (receiver)</h2>";
  h += line_chart(runs, "concealed share of each second", "%",
                  [](const Run& r, size_t s) { return r.rx[s].concealed; },
                  [](const Run& r) { return r.rx.size(); }, 100, false);
  return h + "</body></html>\n";
}

}  // namespace
}  // namespace wzp::bench
