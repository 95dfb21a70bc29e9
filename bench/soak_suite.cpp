// wzp-bench soak: long churn against real processes, with what each costs (memory, open
// descriptors, CPU) sampled as it goes and drawn as charts.
//
// The relay: a wzp-relay process with kRooms rooms whose members (QUIC clients in this
// process) keep joining and leaving, 2 to 4 to a room, each sending a small media datagram
// every 60 ms; every kSlowEvery a member that stops reading (its event loop frozen, so it
// neither reads nor acknowledges until the relay cuts it off); every kStormEvery a one-second
// storm of malformed datagrams and QUIC Initials.
//
// The bridge: a wzp-web process with real Chromium pages (fake microphones) joining and leaving
// rooms, WebSocket readers that stop reading, and the relay behind it killed and restarted
// every two minutes (bench/web_soak.mjs drives them; this side samples the bridge).
//
// Growth is the RSS at the end over the most it held in the warm-up (warm_up_seconds; for the
// bridge, at least until it has held every page at once); `--check` turns the bounds (RSS growth
// under 5 %, descriptors back where they were, no crash, media still flowing) into the exit status.
#include <utility>  // before Boost.Asio (its awaitable.hpp uses std::exchange)

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "bench_member.h"
#include "chart.h"
#include "proc_stats.h"
#include "process.h"
#include "proto/room_name.h"
#include "storm.h"
#include "suites.h"
#include "transport/endpoint.h"
#include "transport/quic.h"

namespace wzp::bench {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

double g_minutes = 1;
int g_pages = 20;
std::string g_only;  // "relay", "bridge" or "" (both)
std::string g_html;
bool g_check = false;
int g_failures = 0;

constexpr size_t kRooms = 50;
constexpr size_t kMinMembers = 2, kMaxMembers = 4;
constexpr double kChurnPerSecond = 10;  // joins and leaves, all rooms together
constexpr auto kMediaEvery = milliseconds(60);
constexpr size_t kMediaBytes = 80;
constexpr auto kSlowEvery = seconds(15);
constexpr auto kSlowKept = seconds(45);  // a frozen member is let go after this
constexpr auto kStormEvery = seconds(30);
constexpr uint64_t kStormGarbage = 20'000, kStormInitials = 100;  // in one second
constexpr double kMaxRssGrowth = 0.05;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One process's samples, and the figures the bounds are about.
struct Trace {
  std::string name;
  double period_s = 5;
  std::vector<double> rss_mb, fds, cpu_pct, sessions, flow;  // flow: media datagrams/s delivered
  size_t warm = 0;  // the index of the first sample after the warm-up
  bool crashed = false;
  ProcessSample last;
  Clock::time_point last_at;

  void add(const ProcessSample& s, double sessions_now, double flow_now) {
    const auto now = Clock::now();
    const double dt = rss_mb.empty() ? 0 : std::chrono::duration<double>(now - last_at).count();
    rss_mb.push_back(s.rss_kb / 1024);
    fds.push_back(s.fds);
    cpu_pct.push_back(dt > 0 ? 100 * (s.cpu_s - last.cpu_s) / dt : 0);
    sessions.push_back(sessions_now);
    flow.push_back(flow_now);
    last = s;
    last_at = now;
  }
  // The end against the most the warm-up held: a process whose memory follows its load (pages
  // open, members in) comes back under what it once held; one that leaks passes it.
  double warm_most() const {
    return rss_mb.empty() ? 0
                          : *std::max_element(rss_mb.begin(),
                                              rss_mb.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                                   warm + 1, rss_mb.size())));
  }
  double growth() const {
    if (rss_mb.size() <= warm + 1) return 0;
    return rss_mb.back() / warm_most() - 1;
  }
  double most_after_warm() const {
    return rss_mb.size() > warm
               ? *std::max_element(rss_mb.begin() + static_cast<std::ptrdiff_t>(warm), rss_mb.end())
               : 0;
  }
  double cpu_mean() const {
    if (cpu_pct.size() <= 1) return 0;
    double sum = 0;
    for (size_t i = 1; i < cpu_pct.size(); ++i) sum += cpu_pct[i];
    return sum / static_cast<double>(cpu_pct.size() - 1);
  }
};

// Short runs (CI's) settle for half their length; long ones for a quarter, five minutes at most.
double warm_up_seconds(double run_s) {
  return run_s <= 240 ? run_s / 2 : std::min(300.0, run_s / 4);
}
double sample_period(double run_s) { return run_s <= 180 ? 1 : 5; }

// A member of a churned room: it counts what reaches it and notices being cut off.
struct Member : BenchMember {
  bool closed = false;
  uint64_t* delivered = nullptr;

  void on_datagram(transport::QuicConnection&, std::span<const uint8_t>) override {
    if (delivered) ++*delivered;
  }
  void on_closed(transport::QuicConnection&, const std::string&) override { closed = true; }
};

std::unique_ptr<Member> join(asio::io_context& io, const asio::ip::udp::endpoint& relay,
                             size_t room, uint64_t* delivered) {
  auto m = std::make_unique<Member>();
  m->delivered = delivered;
  m->client = std::make_unique<transport::QuicClient>(
      io, relay, proto::room_sni("soak-" + std::to_string(room)), nullptr, *m);
  return m;
}

struct Frozen {
  std::unique_ptr<asio::io_context> io;
  std::unique_ptr<Member> member;
  Clock::time_point since;
};

struct RelayCounts {
  uint64_t joins = 0, leaves = 0, slow = 0, storms = 0, garbage = 0, initials = 0, delivered = 0;
};

Trace soak_relay(const fs::path& dir, double run_s, RelayCounts& n) {
  Trace tr;
  tr.name = "wzp-relay";
  tr.period_s = sample_period(run_s);
  const std::string bin = bin_dir();
  std::vector<std::string> argv = {
      bin + "/wzp-relay",       "--listen",         "127.0.0.1:0", "--state-dir",
      (dir / "relay").string(), "--metrics-listen", "127.0.0.1:0"};
  // WZP_SOAK_RELAY_WRAPPER="/usr/bin/heaptrack -o FILE": the relay under a memory profiler.
  if (const char* w = std::getenv("WZP_SOAK_RELAY_WRAPPER")) {
    std::istringstream words(w);
    std::vector<std::string> wrap{std::istream_iterator<std::string>(words),
                                  std::istream_iterator<std::string>()};
    argv.insert(argv.begin(), wrap.begin(), wrap.end());
  }
  testing::Process relay(argv);
  std::string relay_addr, metrics_at;
  const std::regex listening(R"(listening on (127\.0\.0\.1:\d+))");
  const std::regex metrics_on(R"(metrics on http://(127\.0\.0\.1:\d+)/metrics)");
  while (auto line = relay.read_line(seconds(10))) {
    std::smatch m;
    if (std::regex_search(*line, m, metrics_on)) metrics_at = m[1];
    if (std::regex_search(*line, m, listening)) relay_addr = m[1];
    if (!relay_addr.empty() && !metrics_at.empty()) break;
  }
  if (relay_addr.empty() || metrics_at.empty()) {
    std::fprintf(stderr, "  the relay did not start\n");
    tr.crashed = true;
    return tr;
  }
  const auto relay_at = *transport::parse_endpoint(relay_addr).endpoint;
  // The relay's log is read as it goes (a full pipe would stall it).
  std::atomic<bool> stop_log{false};
  std::thread drain_log([&relay, &stop_log] {
    while (!stop_log) relay.read_line(milliseconds(200));
  });

  asio::io_context io;
  auto keep_running = asio::make_work_guard(io);  // run_for() while no member is in
  std::vector<std::vector<std::unique_ptr<Member>>> rooms(kRooms);
  std::deque<Frozen> frozen;
  std::mt19937 rng(7);
  bool filled = false;
  const auto t0 = Clock::now();
  const auto end =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(run_s));
  auto next_media = t0, next_churn = t0, next_slow = t0 + kSlowEvery, next_storm = t0 + kStormEvery,
       next_sample = t0;
  const auto churn_gap = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1 / kChurnPerSecond));
  std::thread storming;
  std::atomic<bool> stop_storm{false};
  Storm storm;
  uint64_t delivered_at_sample = 0;
  const std::vector<uint8_t> media(kMediaBytes, 0);  // tag 0x00: media, opaque to the relay
  tr.warm = static_cast<size_t>(warm_up_seconds(run_s) / tr.period_s);
  const size_t samples = static_cast<size_t>(run_s / tr.period_s);

  while (Clock::now() < end && !tr.crashed) {
    io.run_for(milliseconds(5));
    const auto now = Clock::now();
    if (now >= next_media) {
      next_media += kMediaEvery;
      for (auto& room : rooms) {
        for (auto& m : room) {
          if (m->answered && !m->closed) m->client->connection().send_datagram(media);
        }
      }
    }
    // Leaving and joining. At the start every room fills at once to 2, 3 or 4 members (the
    // relay's per-source handshake bounds and Retry pace them); then a random room gains or
    // loses one, kChurnPerSecond times a second, and a room left with one is refilled.
    if (!filled) {
      for (size_t r = 0; r < kRooms; ++r) {
        for (size_t k = 0, want = kMinMembers + r % (kMaxMembers - kMinMembers + 1); k < want;
             ++k) {
          rooms[r].push_back(join(io, relay_at, r, &n.delivered));
          ++n.joins;
        }
      }
      filled = true;
    }
    while (now >= next_churn) {
      next_churn += churn_gap;
      const auto short_room = std::find_if(rooms.begin(), rooms.end(),
                                           [](const auto& r) { return r.size() < kMinMembers; });
      auto& room = short_room != rooms.end() ? *short_room : rooms[rng() % kRooms];
      if (room.size() < kMinMembers || (room.size() < kMaxMembers && rng() % 2)) {
        room.push_back(join(io, relay_at, static_cast<size_t>(&room - rooms.data()), &n.delivered));
        ++n.joins;
      } else {
        const size_t i = rng() % room.size();
        room[i]->client->connection().close("leaving");
        room.erase(room.begin() + static_cast<std::ptrdiff_t>(i));
        ++n.leaves;
      }
    }
    for (auto& room : rooms) {  // the relay may have cut one off: it rejoins later as a new member
      std::erase_if(room, [](const auto& m) { return m->closed; });
    }
    if (now >= next_slow) {
      next_slow += kSlowEvery;
      Frozen f{std::make_unique<asio::io_context>(), nullptr, now};
      f.member = join(*f.io, relay_at, rng() % kRooms, nullptr);
      const auto limit = Clock::now() + seconds(3);
      while (!f.member->answered && Clock::now() < limit) f.io->run_for(milliseconds(5));
      frozen.push_back(std::move(f));  // from here its loop never runs again
      ++n.slow;
    }
    while (!frozen.empty() && now - frozen.front().since > kSlowKept) {
      frozen.front().member.reset();
      frozen.pop_front();
    }
    if (now >= next_storm) {
      next_storm += kStormEvery;
      if (storming.joinable()) storming.join();
      storm.garbage = kStormGarbage;
      storm.initials = kStormInitials;
      storming = std::thread(
          [&storm, &stop_storm, relay_addr] { send_storm(storm, relay_addr, 1.0, stop_storm); });
      ++n.storms;
    }
    if (now >= next_sample) {
      next_sample +=
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(tr.period_s));
      const auto s = sample_process(relay.pid());
      if (!s.alive) {
        tr.crashed = true;
        break;
      }
      double sessions = -1, connections = -1;
      if (const auto text = fetch_http("http://" + metrics_at + "/metrics")) {
        sessions = metric_value(*text, "wzp_relay_sessions");
        connections = metric_value(*text, "wzp_relay_quic_connections");
      }
      tr.add(s, sessions, static_cast<double>(n.delivered - delivered_at_sample) / tr.period_s);
      delivered_at_sample = n.delivered;
      const size_t k = tr.rss_mb.size();
      if (k % std::max<size_t>(1, samples / 20) == 0 || k == 1) {
        std::fprintf(stderr,
                     "  relay %4.0f s: RSS %.1f MB, %g descriptors, CPU %.0f %%, %g sessions, %.0f "
                     "datagrams/s delivered, "
                     "%lu joins, %lu leaves, %g QUIC connections\n",
                     since(t0), tr.rss_mb.back(), tr.fds.back(), tr.cpu_pct.back(), sessions,
                     tr.flow.back(), static_cast<unsigned long>(n.joins),
                     static_cast<unsigned long>(n.leaves), connections);
      }
    }
  }
  stop_storm = true;
  if (storming.joinable()) storming.join();
  n.garbage = storm.garbage_sent;
  n.initials = storm.initials_sent;
  if (relay.poll_exit()) tr.crashed = true;
  rooms.clear();
  frozen.clear();
  relay.signal(SIGTERM);
  relay.wait(seconds(10));
  stop_log = true;
  drain_log.join();
  return tr;
}

struct BridgeCounts {
  uint64_t joins = 0, leaves = 0, restarts = 0, slow = 0, errors = 0;
};

Trace soak_bridge(const fs::path& dir, double run_s, BridgeCounts& n) {
  Trace tr;
  tr.name = "wzp-web";
  tr.period_s = sample_period(run_s);
  const std::string bin = bin_dir();
  testing::Process driver(
      {"/usr/bin/env", "node", std::string(WZP_SOURCE_DIR) + "/bench/web_soak.mjs", bin,
       std::to_string(run_s), std::to_string(g_pages), (dir / "web").string()},
      {}, true);
  pid_t bridge = -1;
  std::string base;
  tr.warm = static_cast<size_t>(warm_up_seconds(run_s) / tr.period_s);
  const size_t samples = static_cast<size_t>(run_s / tr.period_s);
  auto t0 = Clock::now();
  auto next_sample = t0;
  bool done = false;
  double frames_at_sample = 0, frames = 0;
  bool full_seen = false;  // the bridge has held g_pages pages at once
  const auto deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(run_s + 120));
  while (!done && Clock::now() < deadline) {
    if (auto line = driver.read_line(milliseconds(100))) {
      const auto j = nlohmann::json::parse(*line, nullptr, false);
      if (!j.is_object() || !j.contains("event")) {
        std::fprintf(stderr, "  %s\n", line->c_str());
        continue;
      }
      const std::string e = j["event"];
      if (e == "bridge") {
        bridge = j.value("pid", -1);
        base = j.value("base", "");
        t0 = next_sample = Clock::now();
      } else if (e == "join") {
        ++n.joins;
      } else if (e == "leave") {
        ++n.leaves;
      } else if (e == "heard") {
        frames += j.value("frames", 0.0);
      } else if (e == "restart") {
        ++n.restarts;
      } else if (e == "slow") {
        ++n.slow;
      } else if (e == "error") {
        ++n.errors;
        std::fprintf(stderr, "  page: %s\n", j.value("message", "").c_str());
      } else if (e == "done") {
        done = true;
      }
    } else if (driver.poll_exit()) {
      break;
    }
    if (bridge > 0 && (Clock::now() >= next_sample || done)) {
      next_sample +=
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(tr.period_s));
      const auto s = sample_process(bridge);
      if (!s.alive) {
        tr.crashed = true;
        break;
      }
      double browsers = -1;
      if (const auto text = fetch_http(base + "/healthz")) {
        const auto j = nlohmann::json::parse(*text, nullptr, false);
        if (j.is_object()) browsers = j.value("browsers", -1.0);
      }
      tr.add(s, browsers, (frames - frames_at_sample) / tr.period_s);
      frames_at_sample = frames;
      // The warm-up lasts at least until the bridge has held every page at once: on a loaded
      // machine the pages come slowly, and a warm-up that ended with half of them open would
      // count the memory of the rest as growth.
      if (!full_seen && browsers >= static_cast<double>(g_pages)) {
        full_seen = true;
        tr.warm = std::max(tr.warm, tr.rss_mb.size() - 1);
      }
      const size_t k = tr.rss_mb.size();
      if (k % std::max<size_t>(1, samples / 20) == 0 || k == 1) {
        std::fprintf(
            stderr,
            "  bridge %4.0f s: RSS %.1f MB, %g descriptors, CPU %.0f %%, %g browsers, %lu joins, "
            "%lu leaves, %lu relay restarts\n",
            since(t0), tr.rss_mb.back(), tr.fds.back(), tr.cpu_pct.back(), browsers,
            static_cast<unsigned long>(n.joins), static_cast<unsigned long>(n.leaves),
            static_cast<unsigned long>(n.restarts));
      }
    }
  }
  if (!done) {
    std::fprintf(stderr, "  the page driver stopped before the end\n");
    tr.crashed = true;
  }
  driver.write_line("stop");
  driver.wait(seconds(30));
  return tr;
}

std::string chart_html(const std::vector<Trace>& traces, double run_s) {
  std::string h =
      R"(<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>WarzonePhone soak</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#222}</style></head><body>
<h1>WarzonePhone soak</h1>)";
  h += "<p><small>" + run_stamp() + "</small></p>";
  char buf[600];
  std::snprintf(buf, sizeof buf,
                "<p>%.0f minutes of churn against each process (reproduce with "
                "<code>build/bin/wzp-bench soak --minutes %g "
                "--html soak.html</code>). The relay: %zu rooms of %zu to %zu members joining and "
                "leaving, members that "
                "stop reading, a storm of malformed datagrams and Initials every %lld s. The "
                "bridge: Chromium pages "
                "joining and leaving, WebSocket readers that stop reading, the relay behind it "
                "restarted every two "
                "minutes. Growth is the RSS at the end over the most it held in the warm-up (half "
                "of a run of up "
                "to four minutes, a quarter of a longer one, five minutes at most).</p>",
                run_s / 60, run_s / 60, kRooms, kMinMembers, kMaxMembers,
                static_cast<long long>(std::chrono::duration_cast<seconds>(kStormEvery).count()));
  h += buf;
  for (const auto& t : traces) {
    const double x_step = t.period_s >= 60 ? t.period_s / 60 : t.period_s;
    const std::string x_unit = t.period_s >= 60 ? "min" : "s";
    const auto most = [](const std::vector<double>& v, double floor) {
      return std::max(floor, v.empty() ? floor : 1.25 * *std::max_element(v.begin(), v.end()));
    };
    std::snprintf(
        buf, sizeof buf,
        "<h2>%s</h2><p>RSS %.1f MB at most in the warm-up, %.1f MB at the end (%+.2f %%), "
        "descriptors %g then %g, CPU %.1f %% on average%s.</p>",
        t.name.c_str(), t.warm_most(), t.rss_mb.empty() ? 0 : t.rss_mb.back(), 100 * t.growth(),
        t.fds.size() > t.warm ? t.fds[t.warm] : 0, t.fds.empty() ? 0 : t.fds.back(), t.cpu_mean(),
        t.crashed ? "; <b>it crashed</b>" : "");
    h += buf;
    ChartAxes axes{.x_step = x_step, .x_unit = x_unit};
    axes.unit = "MB";
    axes.y_max = most(t.rss_mb, 10);
    h += line_chart({{"RSS", t.rss_mb}}, t.name + ": resident memory", axes);
    axes.unit = "";
    axes.y_max = std::max(most(t.fds, 10), most(t.sessions, 10));
    h += line_chart(
        {{"descriptors", t.fds}, {t.name == "wzp-relay" ? "sessions" : "browsers", t.sessions}},
        t.name + ": open descriptors and " + (t.name == "wzp-relay" ? "sessions" : "browsers"),
        axes);
    axes.unit = "%";
    axes.y_max = 100;
    h += line_chart({{"CPU", t.cpu_pct}}, t.name + ": CPU (one core = 100 %)", axes);
    axes.unit = "/s";
    axes.y_max = most(t.flow, 10);
    h += line_chart({{t.name == "wzp-relay" ? "datagrams delivered" : "frames heard", t.flow}},
                    t.name + (t.name == "wzp-relay" ? ": media datagrams delivered to members"
                                                    : ": audio frames pages heard"),
                    axes);
  }
  return h + "</body></html>\n";
}

void bounds(const Trace& t, std::vector<Measurement>& out) {
  const std::string c =
      t.name + ", " + std::to_string(static_cast<int>(g_minutes * 60)) + " s churn";
  out.push_back({"soak", c, "RSS growth after warm-up", 100 * t.growth(), "%", {}, false});
  out.push_back({"soak", c, "RSS at most in the warm-up", t.warm_most(), "MB", {}, false});
  out.push_back(
      {"soak", c, "RSS at the end", t.rss_mb.empty() ? 0 : t.rss_mb.back(), "MB", {}, false});
  out.push_back({"soak", c, "RSS at most after warm-up", t.most_after_warm(), "MB", {}, false});
  out.push_back({"soak",
                 c,
                 "descriptors after warm-up",
                 t.fds.size() > t.warm ? t.fds[t.warm] : 0,
                 "",
                 {},
                 false});
  out.push_back(
      {"soak", c, "descriptors at the end", t.fds.empty() ? 0 : t.fds.back(), "", {}, false});
  out.push_back({"soak", c, "CPU, mean", t.cpu_mean(), "%", {}, false});
  out.push_back({"soak", c, "crashed", t.crashed ? 1.0 : 0.0, "", {}, false});
  const auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "  %s: %s\n", t.name.c_str(), why.c_str());
    ++g_failures;
  };
  if (t.crashed) fail("crashed or stopped");
  if (t.rss_mb.size() <= t.warm + 1) return fail("too few samples");
  if (t.growth() > kMaxRssGrowth)
    fail("RSS grew by " + std::to_string(100 * t.growth()) + " % past the warm-up's most");
  // Descriptors: what is open at the end is what was open after the warm-up, give or take
  // the few that come and go with connections in progress.
  if (t.fds.back() > t.fds[t.warm] + 4)
    fail("descriptors went from " + std::to_string(t.fds[t.warm]) + " to " +
         std::to_string(t.fds.back()));
  const double tail_flow = *std::max_element(
      t.flow.end() - std::min<std::ptrdiff_t>(10, static_cast<std::ptrdiff_t>(t.flow.size())),
      t.flow.end());
  if (tail_flow <= 0) fail("no media at the end");
}

}  // namespace

void set_soak_options(double minutes, int pages, const std::string& only, const std::string& html,
                      bool check) {
  g_minutes = minutes;
  g_only = only;
  g_pages = pages;
  g_html = html;
  g_check = check;
}

int soak_failures() { return g_check ? g_failures : 0; }

std::vector<Measurement> run_soak_suite() {
  std::vector<Measurement> out;
  const fs::path base = fs::temp_directory_path() / ("wzp-bench-soak-" + std::to_string(getpid()));
  fs::create_directories(base);
  const double run_s = g_minutes * 60;
  const bool relay_part = g_only != "bridge", bridge_part = g_only != "relay" && g_pages > 0;
  std::vector<Trace> traces;
  if (relay_part) {
    std::fprintf(stderr, "  the relay: %g min of %zu rooms churning, slow readers, storms...\n",
                 g_minutes, kRooms);
    RelayCounts rn;
    traces.push_back(soak_relay(base, run_s, rn));
    bounds(traces.back(), out);
    const std::string rc = "wzp-relay, " + std::to_string(static_cast<int>(run_s)) + " s churn";
    out.push_back({"soak", rc, "joins", static_cast<double>(rn.joins), "", {}, true});
    out.push_back({"soak", rc, "leaves", static_cast<double>(rn.leaves), "", {}, true});
    out.push_back(
        {"soak", rc, "members that stopped reading", static_cast<double>(rn.slow), "", {}, true});
    out.push_back(
        {"soak", rc, "malformed datagrams sent", static_cast<double>(rn.garbage), "", {}, true});
    out.push_back({"soak", rc, "Initials sent", static_cast<double>(rn.initials), "", {}, true});
  }
  if (bridge_part) {
    std::fprintf(stderr,
                 "  the bridge: %g min of up to %d pages joining and leaving, relay restarts...\n",
                 g_minutes, g_pages);
    BridgeCounts bn;
    traces.push_back(soak_bridge(base, run_s, bn));
    bounds(traces.back(), out);
    const std::string bc = "wzp-web, " + std::to_string(static_cast<int>(run_s)) + " s churn";
    out.push_back({"soak", bc, "page joins", static_cast<double>(bn.joins), "", {}, true});
    out.push_back({"soak", bc, "page leaves", static_cast<double>(bn.leaves), "", {}, true});
    out.push_back(
        {"soak", bc, "readers that stopped reading", static_cast<double>(bn.slow), "", {}, true});
    out.push_back({"soak", bc, "relay restarts", static_cast<double>(bn.restarts), "", {}, true});
    out.push_back({"soak", bc, "page errors", static_cast<double>(bn.errors), "", {}, false});
  }
  if (!g_html.empty()) {
    std::ofstream(g_html) << chart_html(traces, run_s);
    std::fprintf(stderr, "  charts written to %s\n", g_html.c_str());
  }
  if (std::getenv("WZP_BENCH_KEEP") == nullptr) fs::remove_all(base);
  return out;
}

}  // namespace wzp::bench
