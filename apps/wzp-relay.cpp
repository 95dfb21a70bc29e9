// wzp-relay: the relay daemon. Room mode: clients join the room named (hashed) in their TLS
// SNI and each one's media goes to everyone else in it, still end-to-end encrypted. Forward
// mode (--remote): every client is piped to another relay. Probes (--probe): RTT, loss and
// jitter to peer relays, as metrics.
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "cli.h"
#include "crypto/identity.h"
#include "log.h"
#include "memory_trim.h"
#include "relay/cluster_router.h"
#include "relay/directory.h"
#include "relay/forwarder.h"
#include "relay/http_auth.h"
#include "relay/metrics_http.h"
#include "relay/prober.h"
#include "relay/relay_config.h"
#include "relay/relay_server.h"
#include "relay/workers.h"
#include "transport/endpoint.h"
#include "transport/quic.h"
#include "transport/redis_client.h"
#include "transport/tls_identity.h"

int main(int argc, char** argv) {
  CLI::App app{"wzp-relay: WarzonePhone relay (SFU rooms over QUIC)"};
  wzp::relay::RelayOptions o;
  o.state_dir = wzp::apps::default_state_dir("relay");
  std::string config;
  app.add_option("--config", config, "TOML file with any of the settings below, and [acl]");
  auto* listen_opt = app.add_option("--listen", o.listen, "address to accept clients on, HOST:PORT")
                         ->capture_default_str();
  auto* state_opt = app.add_option("--state-dir", o.state_dir,
                                   "where the relay keeps its identity and TLS certificate "
                                   "(default: $STATE_DIRECTORY under systemd, else ~/.wzp/relay)");
  auto* metrics_opt = app.add_option("--metrics-listen", o.metrics_listen,
                                     "Prometheus /metrics over HTTP, HOST:PORT ('off' to disable)")
                          ->capture_default_str();
  auto* sessions_opt =
      app.add_option("--max-sessions", o.max_sessions, "sessions at most")->capture_default_str();
  auto* members_opt =
      app.add_option("--max-participants", o.max_participants, "participants per room at most")
          ->capture_default_str();
  auto* rate_opt =
      app.add_option("--max-packet-rate", o.max_packet_rate, "datagrams/s per session before drops")
          ->capture_default_str();
  auto* idle_opt = app.add_option("--idle-timeout", o.idle_timeout,
                                  "seconds without traffic before a session is hung up (0: never)")
                       ->capture_default_str();
  auto* workers_opt = app.add_option("--workers", o.workers,
                                     "threads, each with an event loop and a QUIC server on the "
                                     "port (0: one per core; forward and cluster modes use one)")
                          ->check(CLI::Range(0, 64))
                          ->capture_default_str();
  auto* trunk_opt = app.add_flag("--trunk-clients", o.trunk_clients,
                                 "batch media toward clients into trunk frames too (5 ms)");
  auto* remote_opt = app.add_option("--remote", o.remote,
                                    "forward mode: pipe every client to this relay, HOST:PORT");
  auto* probe_opt = app.add_option("--probe", o.probes,
                                   "probe this peer relay once a second (repeatable), HOST:PORT");
  auto* auth_opt = app.add_option(
      "--auth-url", o.auth_url, "check clients' tokens with POST {\"token\"} to this http:// URL");
  auto* redis_opt = app.add_option(
      "--redis", o.redis, "publish this relay in the cluster directory in Redis, HOST:PORT");
  auto* advertise_opt = app.add_option(
      "--advertise", o.advertise,
      "where clients reach this relay, HOST:PORT, for the directory (default: --listen)");
  auto* redis_user_opt =
      app.add_option("--redis-user", o.redis_user, "Redis ACL user to authenticate as");
  auto* redis_password_opt = app.add_option(
      "--redis-password-file", o.redis_password_file,
      "file holding the password Redis asks for (requirepass, or --redis-user's); its first line");
  wzp::apps::LogOptions log_flags;
  const auto [log_format_opt, log_level_opt] = wzp::apps::add_log_flags(app, log_flags);
  const wzp::relay::RelayOptions defaults = o;
  if (const auto rc = wzp::apps::parse_command_line(app, "wzp-relay", argc, argv)) return *rc;
  o.log_format = log_flags.format;
  o.log_level = log_flags.level;

  // The file over the defaults, then the flags given on the command line over the file; the
  // same again at every reload (SIGHUP).
  const wzp::relay::RelayOptions flags = o;
  const auto settings = [&](const std::string& file) {
    wzp::relay::RelayOptions r = defaults;
    if (!file.empty()) wzp::relay::load_relay_config(file, r);
    const auto flag = [](CLI::Option* opt, auto& value, const auto& flag_value) {
      if (opt->count() > 0) value = flag_value;
    };
    flag(listen_opt, r.listen, flags.listen);
    flag(state_opt, r.state_dir, flags.state_dir);
    flag(metrics_opt, r.metrics_listen, flags.metrics_listen);
    flag(sessions_opt, r.max_sessions, flags.max_sessions);
    flag(members_opt, r.max_participants, flags.max_participants);
    flag(rate_opt, r.max_packet_rate, flags.max_packet_rate);
    flag(idle_opt, r.idle_timeout, flags.idle_timeout);
    flag(trunk_opt, r.trunk_clients, flags.trunk_clients);
    flag(workers_opt, r.workers, flags.workers);
    flag(remote_opt, r.remote, flags.remote);
    flag(probe_opt, r.probes, flags.probes);
    flag(auth_opt, r.auth_url, flags.auth_url);
    flag(redis_opt, r.redis, flags.redis);
    flag(advertise_opt, r.advertise, flags.advertise);
    flag(redis_user_opt, r.redis_user, flags.redis_user);
    flag(redis_password_opt, r.redis_password_file, flags.redis_password_file);
    flag(log_format_opt, r.log_format, flags.log_format);
    flag(log_level_opt, r.log_level, flags.log_level);
    return r;
  };
  try {
    o = settings(config);
  } catch (const std::exception& e) {
    std::cerr << "wzp-relay: " << e.what() << "\n";
    return 2;
  }
  wzp::apps::Log log("wzp-relay", {o.log_format, o.log_level});
  // The relay's events are JSON objects; refusals of a misbehaving peer are warnings.
  const auto event = [&log](const std::string& line) {
    const auto name = nlohmann::json::parse(line, nullptr, false).value("event", std::string());
    const bool refusal =
        name == "cut_off" || name == "forged_sender_key" || name == "handshake_failed";
    log.event(refusal ? spdlog::level::warn : spdlog::level::info, line);
  };

  // Where to listen is looked up once, now; peers named by host (remote, probe) are looked up
  // again as they are dialled, so one that moves is found.
  const auto ep = wzp::transport::resolve_now(o.listen);
  if (!ep.endpoint) {
    std::cerr << "wzp-relay: listen " << ep.error << "\n";
    return 2;
  }
  std::optional<wzp::transport::Address> remote;
  if (!o.remote.empty()) {
    const auto r = wzp::transport::parse_address(o.remote);
    if (!r.address) {
      std::cerr << "wzp-relay: remote " << r.error << "\n";
      return 2;
    }
    remote = *r.address;
  }
  std::vector<wzp::relay::ProbeTarget> probes;
  for (const auto& p : o.probes) {
    const auto r = wzp::transport::parse_address(p);
    if (!r.address) {
      std::cerr << "wzp-relay: probe " << r.error << "\n";
      return 2;
    }
    auto peer = wzp::transport::peer_of(*r.address);
    probes.push_back({p, peer.endpoint, nullptr, std::move(peer.name)});
  }
  std::optional<wzp::transport::Address> redis_at;
  if (!o.redis.empty()) {
    const auto r = wzp::transport::parse_address(o.redis);
    if (!r.address) {
      std::cerr << "wzp-relay: redis " << r.error << "\n";
      return 2;
    }
    if (!o.remote.empty()) {
      std::cerr << "wzp-relay: redis: a relay in forward mode hosts no rooms; set it on the "
                   "remote relay\n";
      return 2;
    }
    redis_at = *r.address;
  }
  std::string redis_password;
  if (!o.redis_password_file.empty() || !o.redis_user.empty()) {
    if (o.redis.empty()) {
      std::cerr << "wzp-relay: redis-user and redis-password-file need --redis\n";
      return 2;
    }
    if (o.redis_password_file.empty()) {
      std::cerr << "wzp-relay: redis-user needs --redis-password-file\n";
      return 2;
    }
    std::ifstream in(o.redis_password_file);
    if (!in || !std::getline(in, redis_password) || redis_password.empty()) {
      std::cerr << "wzp-relay: redis-password-file " << o.redis_password_file
                << ": cannot read a password from its first line\n";
      return 2;
    }
    if (!redis_password.empty() && redis_password.back() == '\r') redis_password.pop_back();
  }
  if (!o.advertise.empty()) {
    if (const auto r = wzp::transport::parse_address(o.advertise); !r.address) {
      std::cerr << "wzp-relay: advertise " << r.error << "\n";
      return 2;
    }
  }
  // One worker unless asked: on a machine whose cores are all busy, a worker's wake-up waits
  // for a core and adds to every cross-worker packet's delay (the demo and the process tests
  // heard less of the call that way on this 2-core machine). 0 asks for one per core. Forward
  // mode and the cluster router pipe connections whole, on one event loop: they keep to one
  // worker until they are split like the rooms are.
  size_t workers = o.workers;
  if (workers == 0) {
    workers = !o.remote.empty() || !o.redis.empty()
                  ? 1
                  : std::max<size_t>(1, std::thread::hardware_concurrency());
  } else if (workers > 1 && (!o.remote.empty() || !o.redis.empty())) {
    std::cerr << "wzp-relay: workers: forward mode (--remote) and a cluster (--redis) run on "
                 "one worker; leave workers unset or 1\n";
    return 2;
  }
  std::optional<wzp::relay::HttpUrl> auth_url;
  if (!o.auth_url.empty()) {
    std::string error;
    auth_url = wzp::relay::parse_http_url(o.auth_url, &error);
    if (!auth_url) {
      std::cerr << "wzp-relay: auth-url: " << error << "\n";
      return 2;
    }
    if (remote) {
      std::cerr << "wzp-relay: auth-url: in forward mode the remote relay checks tokens; "
                   "set it there\n";
      return 2;
    }
  }
  try {
    std::filesystem::create_directories(o.state_dir);
    const auto identity =
        wzp::crypto::load_or_create_identity(std::filesystem::path(o.state_dir) / "identity");
    const auto cert = wzp::transport::load_or_create_certificate(o.state_dir);
    // One thread runs this loop (worker 0; the other workers have loops of their own): asio then
    // keeps what a handler posts on that thread's own queue instead of waking epoll for it.
    boost::asio::io_context io{1};
    // Other relays' certificates are pinned on first contact, like a client pins ours.
    wzp::transport::KnownRelays known(std::filesystem::path(o.state_dir) / "known_relays");
    const auto pin = [&known, &log](const std::string& label) {
      return [&known, &log, label](const std::string& fingerprint) {
        std::string pinned;
        if (wzp::transport::KnownRelays::trusted(known.check(label, fingerprint, &pinned))) {
          return true;
        }
        log.warn(
            label + " presented certificate " + fingerprint + " but " + pinned +
            " is pinned; refusing (remove it from known_relays if the relay was really re-keyed)");
        return false;
      };
    };
    wzp::relay::RelayConfig rc;
    rc.max_sessions = o.max_sessions;
    rc.max_participants_per_room = o.max_participants;
    rc.rate.rate = o.max_packet_rate;
    rc.rate.burst = o.packet_burst;
    rc.idle_timeout = std::chrono::seconds(o.idle_timeout);
    rc.trunk_clients = o.trunk_clients;
    rc.log = event;
    std::unique_ptr<wzp::relay::HttpAuthorizer> authorizer;
    if (auth_url) {
      authorizer = std::make_unique<wzp::relay::HttpAuthorizer>(io, *auth_url);
      rc.authorize = authorizer->as_authorizer();
    }
    wzp::relay::RelayServer relay(io, identity, rc);
    relay.set_room_acls(o.acl);
    std::unique_ptr<wzp::relay::Forwarder> forwarder;
    if (remote) {
      wzp::relay::ForwarderConfig fc;
      auto peer = wzp::transport::peer_of(*remote);
      fc.remote = peer.endpoint;
      fc.remote_name = std::move(peer.name);
      fc.relay_id = identity.fingerprint();
      fc.verify_remote = pin(o.remote);
      fc.max_sessions = o.max_sessions;
      fc.rate = rc.rate;
      fc.log = event;
      forwarder = std::make_unique<wzp::relay::Forwarder>(io, fc);
    }
    // In a cluster (--redis) a router stands in front of the rooms: members of a room whose
    // home is another relay are piped there (cluster_router.h).
    std::unique_ptr<wzp::transport::RedisClient> redis;
    std::unique_ptr<wzp::relay::Directory> directory;
    std::unique_ptr<wzp::relay::Forwarder> cluster_pipes;
    std::unique_ptr<wzp::relay::ClusterRouter> router;
    // The cluster directory: this relay, its rooms and its registrations, in Redis.
    if (redis_at) {
      wzp::transport::RedisConfig redis_config;
      redis_config.address = *redis_at;
      redis_config.username = o.redis_user;
      redis_config.password = redis_password;
      redis = std::make_unique<wzp::transport::RedisClient>(
          io, redis_config, [&log, at = o.redis](bool up, const std::string& why) {
            if (up) {
              log.info("cluster directory: connected to Redis at " + at);
            } else {
              log.warn("cluster directory: Redis at " + at + " unreachable (" + why +
                       "); rooms and calls go on, the directory is published again once it "
                       "is back");
            }
          });
      // The address is the socket's unless --advertise says otherwise: set once it is bound.
      wzp::relay::DirectorySelf self{identity.fingerprint(), o.advertise, cert.fingerprint};
      directory = std::make_unique<wzp::relay::Directory>(
          relay.scheduler(), *redis, self,
          [&relay, &router] {
            auto load = relay.directory_load();
            if (router) load.piped = router->piped_rooms();
            return load;
          },
          [&relay] { return relay.wall_ms(); });
      wzp::relay::ForwarderConfig fc;
      fc.relay_id = identity.fingerprint();
      fc.max_sessions = o.max_sessions;
      fc.rate = rc.rate;
      fc.log = event;
      cluster_pipes = std::make_unique<wzp::relay::Forwarder>(io, fc);
      router = std::make_unique<wzp::relay::ClusterRouter>(
          io, relay, *cluster_pipes, *directory,
          [&relay](const std::string& sni) { return relay.local_only(sni); },
          [&relay](const std::string& sni) { return relay.direct_calls().hosted_abroad(sni); },
          event);
      wzp::relay::link_calls_abroad(relay.direct_calls(), *directory, event);
    }
    wzp::transport::QuicEvents& events =
        forwarder ? static_cast<wzp::transport::QuicEvents&>(*forwarder)
        : router  ? static_cast<wzp::transport::QuicEvents&>(*router)
                  : relay;
    std::optional<wzp::transport::QuicServer> server;
    wzp::apps::listening_on("UDP " + o.listen + " (--listen)", [&] {
      server.emplace(io, *ep.endpoint, cert, events, wzp::transport::QuicConfig{},
                     wzp::transport::QuicWorker{0, workers});
    });
    // Workers 1..N-1: a loop, a server on the same port, and a link to the rooms on this one.
    std::unique_ptr<wzp::relay::WorkerPool> pool;
    if (workers > 1) {
      pool = std::make_unique<wzp::relay::WorkerPool>(io, relay, *server, cert);
    }
    if (directory && o.advertise.empty()) {
      std::ostringstream listening;
      listening << server->local_endpoint();
      directory->set_address(listening.str());
    }
    std::unique_ptr<wzp::relay::Prober> prober;
    if (!probes.empty()) {
      for (auto& p : probes) p.verify = pin(p.label);
      prober = std::make_unique<wzp::relay::Prober>(io, probes, identity.fingerprint());
    }
    std::unique_ptr<wzp::relay::MetricsHttp> metrics;
    if (o.metrics_listen != "off") {
      const auto m = wzp::transport::resolve_now(o.metrics_listen);
      if (!m.endpoint) throw std::runtime_error("metrics_listen " + m.error);
      wzp::apps::listening_on("TCP " + o.metrics_listen + " (--metrics-listen)", [&] {
        metrics = std::make_unique<wzp::relay::MetricsHttp>(
            io, boost::asio::ip::tcp::endpoint(m.endpoint->address(), m.endpoint->port()),
            [&relay, &forwarder, &prober, &server, &directory, &router, &pool] {
              // Worker 0's text (the room logic's and its server's), summed with the other
              // workers' (which forward media too, under the same families).
              std::string text = forwarder ? forwarder->metrics_text() : relay.metrics_text();
              text += server->metrics_text("wzp_relay");
              if (pool) text = pool->metrics_text(text);
              if (prober) text += prober->metrics_text();
              if (directory) text += directory->metrics_text("wzp_relay");
              if (router) text += router->metrics_text();
              return text;
            },
            [&relay, &forwarder, started = std::chrono::steady_clock::now()] {
              const auto up = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::steady_clock::now() - started);
              return std::string(R"({"status":"ok","version":")") + WZP_VERSION + R"(","mode":")" +
                     (forwarder ? "forward" : "rooms") + R"(","sessions":)" +
                     std::to_string(forwarder ? forwarder->sessions() : relay.sessions()) +
                     R"(,"uptime_s":)" + std::to_string(up.count()) + "}\n";
            });
      });
      std::ostringstream at;
      at << metrics->local_endpoint();
      log.info("metrics on http://" + at.str() + "/metrics");
    }
    std::ostringstream at;
    at << server->local_endpoint();
    log.info("listening on " + at.str() + " (QUIC, ALPN " + std::string(wzp::transport::kAlpn) +
             ")");
    if (workers > 1) log.info(std::to_string(workers) + " workers on the port");
    log.info("certificate fingerprint " + cert.fingerprint);
    log.info("relay identity " + identity.fingerprint());
    if (remote) log.info("forward mode: every client is piped to " + o.remote);
    for (const auto& p : o.probes) log.info("probing " + p);
    if (auth_url) log.info("tokens checked at " + o.auth_url);
    if (redis_at) log.info("cluster directory in Redis at " + o.redis);
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      // Tell every client why, give the goodbyes a moment to leave, then stop.
      relay.shutdown("relay shutting down");
      if (cluster_pipes) cluster_pipes->shutdown("relay shutting down");
      if (directory) directory->withdraw();
      if (forwarder) forwarder->shutdown("relay shutting down");
      if (prober) prober->stop();
      server->stop();
      if (pool) pool->stop_servers();
      if (metrics) metrics->stop();
      io.run_for(std::chrono::milliseconds(200));
      io.stop();
    });
    boost::asio::signal_set hup(io, SIGHUP);
    // SIGHUP: the file again. What can change while running does (access lists, load bounds,
    // the token check); what cannot is named, with the restart it needs. A bad file keeps
    // everything as it was.
    std::vector<std::unique_ptr<wzp::relay::HttpAuthorizer>> retired;  // may have checks in flight
    const auto reload = [&] {
      if (config.empty()) {
        log.warn("SIGHUP: no --config file to reload");
        return;
      }
      wzp::relay::RelayOptions fresh;
      std::optional<wzp::relay::HttpUrl> fresh_auth;
      try {
        fresh = settings(config);
        if (!fresh.auth_url.empty()) {
          std::string error;
          fresh_auth = wzp::relay::parse_http_url(fresh.auth_url, &error);
          if (!fresh_auth) throw std::runtime_error("auth_url: " + error);
        }
      } catch (const std::exception& e) {
        log.error(std::string("reload failed, nothing changed: ") + e.what());
        return;
      }
      std::string changed, needs_restart;
      const auto note = [](std::string& list, const std::string& what) {
        list += (list.empty() ? "" : ", ") + what;
      };
      const auto num = [](auto v) {
        std::ostringstream s;
        s << v;
        return s.str();
      };
      const auto compare = [&](const char* key, const auto& was, const auto& now) {
        if (was != now) note(changed, std::string(key) + " " + num(was) + " -> " + num(now));
      };
      compare("max_sessions", o.max_sessions, fresh.max_sessions);
      compare("max_participants", o.max_participants, fresh.max_participants);
      compare("max_packet_rate", o.max_packet_rate, fresh.max_packet_rate);
      compare("packet_burst", o.packet_burst, fresh.packet_burst);
      compare("idle_timeout", o.idle_timeout, fresh.idle_timeout);
      compare("log_level", o.log_level, fresh.log_level);
      if (o.auth_url != fresh.auth_url && forwarder) {
        note(needs_restart, "auth_url (not used in forward mode: the remote relay checks tokens)");
      } else if (o.auth_url != fresh.auth_url) {
        note(changed, fresh.auth_url.empty() ? "auth_url removed (tokens no longer checked)"
                                             : "auth_url " + fresh.auth_url);
      }
      if (o.listen != fresh.listen) note(needs_restart, "listen");
      if (o.state_dir != fresh.state_dir) note(needs_restart, "state_dir");
      if (o.metrics_listen != fresh.metrics_listen) note(needs_restart, "metrics_listen");
      if (o.trunk_clients != fresh.trunk_clients) note(needs_restart, "trunk_clients");
      if (o.workers != fresh.workers) note(needs_restart, "workers");
      if (o.remote != fresh.remote) note(needs_restart, "remote");
      if (o.probes != fresh.probes) note(needs_restart, "probe");
      if (o.log_format != fresh.log_format) note(needs_restart, "log_format");
      if (o.redis != fresh.redis) note(needs_restart, "redis");
      if (o.advertise != fresh.advertise) note(needs_restart, "advertise");
      wzp::relay::RateLimit rate = rc.rate;
      rate.rate = fresh.max_packet_rate;
      rate.burst = fresh.packet_burst;
      relay.set_limits(fresh.max_sessions, fresh.max_participants, rate,
                       std::chrono::seconds(fresh.idle_timeout));
      if (forwarder) forwarder->set_limits(fresh.max_sessions, rate);
      rc.rate = rate;
      if (o.auth_url != fresh.auth_url && !forwarder) {
        if (authorizer) retired.push_back(std::move(authorizer));
        if (fresh_auth) authorizer = std::make_unique<wzp::relay::HttpAuthorizer>(io, *fresh_auth);
        relay.set_authorizer(authorizer ? authorizer->as_authorizer() : wzp::relay::Authorizer{});
      }
      relay.set_room_acls(fresh.acl);
      // The running values from now on (those that need a restart stay as they run).
      o.max_sessions = fresh.max_sessions;
      o.max_participants = fresh.max_participants;
      o.max_packet_rate = fresh.max_packet_rate;
      o.packet_burst = fresh.packet_burst;
      o.idle_timeout = fresh.idle_timeout;
      o.log_level = fresh.log_level;
      if (!forwarder) o.auth_url = fresh.auth_url;
      o.acl = fresh.acl;
      log.info("reloaded " + config + ": " + std::to_string(fresh.acl.size()) +
               " room access lists" + (changed.empty() ? "" : "; " + changed));
      if (!needs_restart.empty()) {
        log.warn("changed in " + config + " but in force only after a restart: " + needs_restart);
      }
      log.set_level(fresh.log_level);  // after saying so, at the level the operator had
    };
    std::function<void()> on_hup = [&] {
      hup.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        reload();
        on_hup();
      });
    };
    on_hup();
    wzp::apps::MemoryTrim trim(io);  // freed memory back to the system once a minute
    io.run();
    log.info("stopped (" + std::to_string(forwarder ? forwarder->sessions() : relay.sessions()) +
             " sessions open at exit)");
  } catch (const std::exception& e) {
    std::cerr << "wzp-relay: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
