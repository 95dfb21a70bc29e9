// wzp-netem: a userspace UDP impairment proxy (loss, bursts, jitter, duplication, a bandwidth
// cap, outages, NAT rebinding), seeded and reproducible. Prints its counters once a second.
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <csignal>
#include <iostream>

#include "cli.h"
#include "transport/endpoint.h"
#include "transport/netem_proxy.h"

namespace {

void print(const wzp::transport::NetemStats& s, bool final) {
  auto dir = [](const char* name, const wzp::transport::ImpairmentCounters& c) {
    std::cout << name << " in " << c.received << " out " << c.delivered << " lost " << c.lost
              << " outage " << c.outage << " queue " << c.queue_drops << " dup " << c.duplicated;
  };
  std::cout << (final ? "wzp-netem: final: " : "wzp-netem: ");
  dir("up:", s.to_upstream);
  dir(" | down:", s.to_client);
  std::cout << " | flows " << s.flows << " rebinds " << s.rebinds << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wzp-netem: UDP impairment proxy (loss, bursts, jitter, outages, rebinding)"};
  std::string listen, upstream, direction = "both", log;
  double loss = 0, burst_loss = 0, burst = 3, duplicate = 0;
  uint32_t delay = 0, jitter = 0, rate = 0, queue = 64;
  bool no_reorder = false;
  uint64_t seed = 1;
  std::vector<std::string> outages;
  std::vector<double> rebinds;
  app.add_option("--listen", listen, "address clients send to, HOST:PORT")->required();
  app.add_option("--upstream", upstream, "address to forward to, HOST:PORT")->required();
  app.add_option("--loss", loss, "random loss, percent")->check(CLI::Range(0.0, 100.0));
  app.add_option("--burst-loss", burst_loss, "Gilbert-Elliott mean loss, percent")
      ->check(CLI::Range(0.0, 99.0));
  app.add_option("--burst", burst, "Gilbert-Elliott mean burst length, packets")
      ->check(CLI::Range(1.0, 1000.0));
  app.add_option("--delay", delay, "one-way delay, ms");
  app.add_option("--jitter", jitter, "extra random delay 0..N ms");
  app.add_flag("--no-reorder", no_reorder, "jitter never reorders packets");
  app.add_option("--duplicate", duplicate, "duplication, percent")->check(CLI::Range(0.0, 100.0));
  app.add_option("--rate", rate, "bandwidth cap, kbit/s (0: none)");
  app.add_option("--queue", queue, "packets queued for the capped link before drops");
  app.add_option("--outage", outages, "blackout START:SECONDS (repeatable), e.g. 10:3");
  std::vector<double> loss_steps;
  double step_s = 10;
  app.add_option("--loss-steps", loss_steps,
                 "random loss that changes every --step seconds, percent, e.g. 0,20,5")
      ->delimiter(',')
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--step", step_s, "seconds per --loss-steps value")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--rebind", rebinds,
                 "change the upstream-facing source port at SECONDS (repeatable)");
  app.add_option("--direction", direction, "which way to impair")
      ->check(CLI::IsMember({"both", "up", "down"}));
  app.add_option("--seed", seed, "random seed (same seed, same fates)");
  app.add_option("--log", log, "per-packet CSV log");
  if (const auto rc = wzp::apps::parse_command_line(app, "wzp-netem", argc, argv)) return *rc;

  auto l = wzp::transport::resolve_now(listen);
  auto u = wzp::transport::resolve_now(upstream);
  if (!l.endpoint || !u.endpoint) {
    std::cerr << "wzp-netem: " << (l.endpoint ? "--upstream " : "--listen ")
              << (l.endpoint ? u.error : l.error) << "\n";
    return 2;
  }
  wzp::transport::ImpairmentConfig imp;
  imp.loss = loss / 100;
  imp.burst_loss = burst_loss / 100;
  imp.mean_burst = burst;
  imp.delay_ms = delay;
  imp.jitter_ms = jitter;
  imp.reorder = !no_reorder;
  imp.duplicate = duplicate / 100;
  imp.rate_kbps = rate;
  imp.queue_packets = queue;
  imp.seed = seed;
  for (double l : loss_steps) imp.loss_steps.push_back(l / 100);
  imp.step_ms = static_cast<uint64_t>(step_s * 1000);
  for (const auto& o : outages) {
    const auto colon = o.find(':');
    try {
      if (colon == std::string::npos) throw std::invalid_argument("no colon");
      imp.outages.push_back({static_cast<uint64_t>(std::stod(o.substr(0, colon)) * 1000),
                             static_cast<uint64_t>(std::stod(o.substr(colon + 1)) * 1000)});
    } catch (const std::exception&) {
      std::cerr << "wzp-netem: --outage '" << o << "' is not START:SECONDS\n";
      return 2;
    }
  }
  wzp::transport::NetemConfig cfg;
  cfg.listen = *l.endpoint;
  cfg.upstream = *u.endpoint;
  cfg.to_upstream = direction == "down" ? wzp::transport::ImpairmentConfig{} : imp;
  cfg.to_client = direction == "up" ? wzp::transport::ImpairmentConfig{} : imp;
  cfg.to_client.seed = seed + 7919;  // the two directions draw independently
  for (double r : rebinds) cfg.rebind_at_ms.push_back(static_cast<uint64_t>(r * 1000));
  cfg.log_path = log;

  boost::asio::io_context io;
  wzp::transport::NetemProxy proxy(io, cfg);
  try {
    proxy.start();
  } catch (const std::exception& e) {
    std::cerr << "wzp-netem: cannot listen on " << listen << ": " << e.what() << "\n";
    return 1;
  }
  std::cout << "wzp-netem: " << listen << " -> " << upstream << std::endl;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) {
    proxy.stop();
    io.stop();
  });
  boost::asio::steady_timer tick(io);
  std::function<void()> report = [&] {
    tick.expires_after(std::chrono::seconds(1));
    tick.async_wait([&](auto ec) {
      if (ec) return;
      print(proxy.stats(), false);
      report();
    });
  };
  report();
  io.run();
  print(proxy.stats(), true);
  return 0;
}
