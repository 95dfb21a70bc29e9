// wzp-relay: the relay daemon. Room mode: clients join the room named (hashed) in their TLS
// SNI and each one's media goes to everyone else in it, still end-to-end encrypted.
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <csignal>
#include <iostream>

#include "crypto/identity.h"
#include "relay/metrics_http.h"
#include "relay/relay_server.h"
#include "transport/endpoint.h"
#include "transport/quic.h"
#include "transport/tls_identity.h"

int main(int argc, char** argv) {
  CLI::App app{"wzp-relay: WarzonePhone relay (SFU rooms over QUIC)"};
  std::string listen = "0.0.0.0:4433";
  std::string state_dir = "wzp-relay-state";
  std::string metrics_listen = "127.0.0.1:9464";
  size_t max_sessions = 1000, max_per_room = 100;
  app.add_option("--listen", listen, "address to accept clients on, HOST:PORT")
      ->capture_default_str();
  app.add_option("--state-dir", state_dir,
                 "where the relay keeps its identity and TLS certificate (created on first start)")
      ->capture_default_str();
  app.add_option("--metrics-listen", metrics_listen,
                 "Prometheus /metrics over HTTP, HOST:PORT ('off' to disable)")
      ->capture_default_str();
  app.add_option("--max-sessions", max_sessions, "sessions at most")->capture_default_str();
  app.add_option("--max-participants", max_per_room, "participants per room at most")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const auto ep = wzp::transport::parse_endpoint(listen);
  if (!ep.endpoint) {
    std::cerr << "wzp-relay: --listen " << ep.error << "\n";
    return 2;
  }
  try {
    std::filesystem::create_directories(state_dir);
    const auto identity = wzp::crypto::load_or_create_identity(std::filesystem::path(state_dir) / "identity");
    const auto cert = wzp::transport::load_or_create_certificate(state_dir);
    boost::asio::io_context io;
    wzp::relay::RelayServer relay(identity, {max_sessions, max_per_room});
    wzp::transport::QuicServer server(io, *ep.endpoint, cert, relay);
    std::unique_ptr<wzp::relay::MetricsHttp> metrics;
    if (metrics_listen != "off") {
      const auto m = wzp::transport::parse_endpoint(metrics_listen);
      if (!m.endpoint) throw std::runtime_error("--metrics-listen " + m.error);
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
    io.run();
    std::cout << "wzp-relay: stopped (" << relay.stats().sessions << " sessions open at exit)\n";
  } catch (const std::exception& e) {
    std::cerr << "wzp-relay: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
