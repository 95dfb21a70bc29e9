// wzp-web: the browser bridge. Serves the page at /ROOM and a WebSocket at /ws/ROOM; every
// browser becomes a participant toward the relay through the client engine.
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli.h"
#include "log.h"
#include "memory_trim.h"
#include "transport/endpoint.h"
#include "transport/tls_identity.h"
#include "web/web_bridge.h"

#ifndef WZP_WEB_ROOT
#define WZP_WEB_ROOT "web"
#endif
#ifndef WZP_RNNOISE_JS
#define WZP_RNNOISE_JS "node_modules/@shiguredo/rnnoise-wasm/dist/rnnoise.js"
#endif

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wzp-web: WarzonePhone browser bridge (HTTPS + WebSocket)"};
  int port = 8080;
  std::string host = "127.0.0.1", relay = "127.0.0.1:4433", cert, key;
  // Installed (PREFIX/share/wzp beside PREFIX/bin), the page and RNNoise come from there;
  // from the build tree, from the source tree.
  const auto data = wzp::apps::installed_data_dir();
  std::string web_root = data.empty() ? WZP_WEB_ROOT : (data / "web").string();
  std::string rnnoise = data.empty() ? WZP_RNNOISE_JS : (data / "vendor" / "rnnoise.js").string();
  std::string state_dir = wzp::apps::default_state_dir("web");
  bool tls = false;
  std::vector<std::string> allow_origins;
  app.add_option("--port", port, "HTTP(S)/WebSocket port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--host", host, "address to listen on")->capture_default_str();
  app.add_option("--relay", relay, "relay address HOST:PORT")->capture_default_str();
  app.add_flag("--tls", tls,
               "HTTPS (a self-signed certificate in --state-dir unless --cert/--key)");
  app.add_option("--cert", cert, "PEM certificate (with --tls)");
  app.add_option("--key", key, "PEM private key (with --tls)");
  app.add_option("--web-root", web_root,
                 "the page's files (default: PREFIX/share/wzp/web when installed, else the "
                 "source tree's web/)");
  app.add_option("--rnnoise", rnnoise,
                 "RNNoise WebAssembly build, npm @shiguredo/rnnoise-wasm (default: "
                 "PREFIX/share/wzp/vendor/rnnoise.js when installed, else node_modules/)");
  app.add_option("--state-dir", state_dir,
                 "pins of relays, the generated certificate (default: $STATE_DIRECTORY under "
                 "systemd, else ~/.wzp/web)");
  app.add_option("--allow-origin", allow_origins,
                 "another page origin (scheme://host[:port]) allowed to open calls through /ws/ "
                 "(repeatable; the bridge's own origin always is)");
  wzp::apps::LogOptions log_options;
  wzp::apps::add_log_flags(app, log_options);
  if (const auto rc = wzp::apps::parse_command_line(app, "wzp-web", argc, argv)) return *rc;
  wzp::apps::Log log("wzp-web", log_options);

  // A host name is looked up at each dial, so a relay that moves is found.
  if (const auto a = wzp::transport::parse_address(relay); !a.address) {
    std::cerr << "wzp-web: relay " << a.error << "\n";
    return 2;
  }
  if (cert.empty() != key.empty()) {
    std::cerr << "wzp-web: --cert and --key go together\n";
    return 2;
  }
  if (!std::filesystem::exists(std::filesystem::path(web_root) / "index.html")) {
    std::cerr << "wzp-web: no index.html in --web-root " << web_root << "\n";
    return 2;
  }
  try {
    std::filesystem::create_directories(state_dir);
    wzp::web::BridgeConfig c;
    const auto where =
        wzp::transport::resolve_now(wzp::transport::Address{host, static_cast<uint16_t>(port)});
    if (!where.endpoint) throw std::runtime_error("--host " + where.error);
    c.listen = {where.endpoint->address(), where.endpoint->port()};
    c.relay = relay;
    c.web_root = web_root;
    c.state_dir = state_dir;
    c.allowed_origins = allow_origins;
    // Each page's join and leave, and a page cut off for misbehaving (a warning).
    c.log = [&log](const std::string& line) {
      log.event(line.find(R"("event":"page_closed")") != std::string::npos ? spdlog::level::warn
                                                                           : spdlog::level::info,
                line);
    };
    if (std::filesystem::exists(rnnoise)) {
      c.vendor["rnnoise.js"] = rnnoise;
    } else {
      log.warn("no RNNoise build at " + rnnoise +
               " (run scripts/install-deps.sh); the page will offer it disabled");
    }
    if (tls) {
      if (cert.empty()) {
        const auto generated = wzp::transport::load_or_create_certificate(state_dir);
        c.tls = {generated.cert_pem, generated.key_pem};
      } else {
        c.tls = {slurp(cert), slurp(key)};
      }
    }
    boost::asio::io_context io;
    std::optional<wzp::web::WebBridge> bridge;
    wzp::apps::listening_on("TCP " + host + ":" + std::to_string(port) + " (--host, --port)",
                            [&] { bridge.emplace(io, c); });
    const auto at = bridge->local_endpoint();
    std::ostringstream base;
    base << (tls ? "https" : "http") << "://" << at;
    log.info("serving " + base.str() + "/ROOM (relay " + relay + ")");
    log.info("metrics on " + base.str() + "/metrics");
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      bridge->stop();
      io.run_for(std::chrono::milliseconds(200));
      io.stop();
    });
    wzp::apps::MemoryTrim trim(io);  // freed memory back to the system once a minute
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "wzp-web: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
