// wzp-relay: the relay daemon. Room mode: clients join the room named (hashed) in their TLS
// SNI and each one's media goes to everyone else in it, still end-to-end encrypted.
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <csignal>
#include <iostream>

#include "crypto/identity.h"
#include "relay/metrics_http.h"
#include "relay/relay_config.h"
#include "relay/relay_server.h"
#include "transport/endpoint.h"
#include "transport/quic.h"
#include "transport/tls_identity.h"

int main(int argc, char** argv) {
  CLI::App app{"wzp-relay: WarzonePhone relay (SFU rooms over QUIC)"};
  wzp::relay::RelayOptions o;
  std::string config;
  app.add_option("--config", config, "TOML file with any of the settings below, and [acl]");
  auto* listen_opt = app.add_option("--listen", o.listen, "address to accept clients on, HOST:PORT")
                         ->capture_default_str();
  auto* state_opt = app.add_option("--state-dir", o.state_dir,
                                   "where the relay keeps its identity and TLS certificate")
                        ->capture_default_str();
  auto* metrics_opt = app.add_option("--metrics-listen", o.metrics_listen,
                                     "Prometheus /metrics over HTTP, HOST:PORT ('off' to disable)")
                          ->capture_default_str();
  auto* sessions_opt = app.add_option("--max-sessions", o.max_sessions, "sessions at most")
                           ->capture_default_str();
  auto* members_opt = app.add_option("--max-participants", o.max_participants,
                                     "participants per room at most")
                          ->capture_default_str();
  auto* rate_opt = app.add_option("--max-packet-rate", o.max_packet_rate,
                                  "datagrams/s per session before drops")
                       ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // The file first, then the flags given on the command line on top.
  if (!config.empty()) {
    wzp::relay::RelayOptions from_file;
    try {
      wzp::relay::load_relay_config(config, from_file);
    } catch (const std::exception& e) {
      std::cerr << "wzp-relay: " << e.what() << "\n";
      return 2;
    }
    auto keep = [](CLI::Option* opt, auto& flag_value, const auto& file_value) {
      if (opt->count() == 0) flag_value = file_value;
    };
    keep(listen_opt, o.listen, from_file.listen);
    keep(state_opt, o.state_dir, from_file.state_dir);
    keep(metrics_opt, o.metrics_listen, from_file.metrics_listen);
    keep(sessions_opt, o.max_sessions, from_file.max_sessions);
    keep(members_opt, o.max_participants, from_file.max_participants);
    keep(rate_opt, o.max_packet_rate, from_file.max_packet_rate);
    o.packet_burst = from_file.packet_burst;
    o.acl = from_file.acl;
  }

  const auto ep = wzp::transport::parse_endpoint(o.listen);
  if (!ep.endpoint) {
    std::cerr << "wzp-relay: listen " << ep.error << "\n";
    return 2;
  }
  try {
    std::filesystem::create_directories(o.state_dir);
    const auto identity =
        wzp::crypto::load_or_create_identity(std::filesystem::path(o.state_dir) / "identity");
    const auto cert = wzp::transport::load_or_create_certificate(o.state_dir);
    boost::asio::io_context io;
    wzp::relay::RelayConfig rc;
    rc.max_sessions = o.max_sessions;
    rc.max_participants_per_room = o.max_participants;
    rc.max_packet_rate = o.max_packet_rate;
    rc.packet_burst = o.packet_burst;
    wzp::relay::RelayServer relay(identity, rc);
    relay.set_room_acls(o.acl);
    wzp::transport::QuicServer server(io, *ep.endpoint, cert, relay);
    std::unique_ptr<wzp::relay::MetricsHttp> metrics;
    if (o.metrics_listen != "off") {
      const auto m = wzp::transport::parse_endpoint(o.metrics_listen);
      if (!m.endpoint) throw std::runtime_error("metrics_listen " + m.error);
      metrics = std::make_unique<wzp::relay::MetricsHttp>(
          io, boost::asio::ip::tcp::endpoint(m.endpoint->address(), m.endpoint->port()),
          [&relay] { return relay.metrics_text(); });
      std::cout << "wzp-relay: metrics on http://" << metrics->local_endpoint() << "/metrics\n";
    }
    std::cout << "wzp-relay: listening on " << server.local_endpoint() << " (QUIC, ALPN "
              << wzp::transport::kAlpn << ")\n"
              << "wzp-relay: certificate fingerprint " << cert.fingerprint << "\n"
              << "wzp-relay: relay identity " << identity.fingerprint() << std::endl;
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      // Tell every client why, give the goodbyes a moment to leave, then stop.
      relay.shutdown("relay shutting down");
      server.stop();
      if (metrics) metrics->stop();
      io.run_for(std::chrono::milliseconds(200));
      io.stop();
    });
    // SIGHUP: reload the room access lists from the config file.
    boost::asio::signal_set hup(io, SIGHUP);
    std::function<void()> on_hup = [&] {
      hup.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        if (!config.empty()) {
          try {
            wzp::relay::RelayOptions fresh;
            wzp::relay::load_relay_config(config, fresh);
            relay.set_room_acls(fresh.acl);
            std::cout << "wzp-relay: reloaded " << fresh.acl.size() << " room access lists\n";
          } catch (const std::exception& e) {
            std::cerr << "wzp-relay: reload failed, keeping the old lists: " << e.what() << "\n";
          }
        }
        on_hup();
      });
    };
    on_hup();
    io.run();
    std::cout << "wzp-relay: stopped (" << relay.sessions() << " sessions open at exit)\n";
  } catch (const std::exception& e) {
    std::cerr << "wzp-relay: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
