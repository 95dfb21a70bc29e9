// The relay on two worker threads, as wzp-relay --workers 2 runs it: worker 0 (here the test's
// own loop) holds the room logic and a QUIC server; worker 1, on a thread of its own, a second
// server on the same port, linked to worker 0 by rings. Members land on either worker (the
// kernel steers by connection ID) and one room spans both.
#include <gtest/gtest.h>

#include "relay/workers.h"
#include "relay_fixture.h"

namespace wzp::relay {
namespace {

struct TwoWorkers {
  asio::io_context io;  // worker 0, and the members
  crypto::Identity relay_id = crypto::Identity::generate();
  transport::TlsCertificate cert = transport::generate_certificate("wzp-relay");
  RelayServer relay{io, relay_id};
  transport::QuicServer server0{io,
                                udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                                cert,
                                relay,
                                transport::QuicConfig{},
                                transport::QuicWorker{0, 2}};
  WorkerPool pool{io, relay, server0.local_endpoint(), cert, 2};

  bool run_until(const std::function<bool()>& done, int ms = 10000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(5));
    }
    return done();
  }
  std::string metrics() { return pool.metrics_text(server0.metrics_text("wzp_relay")); }
};

// Members join one room until each worker holds at least two of them; every member then hears
// every other and never itself; after each member migrates to a new port all of them still do
// (their packets follow their connection IDs to their worker); one on worker 1 leaving is seen
// by the others; the metrics add both workers' servers up.
TEST(RelayWorkers, ARoomSpanningTwoWorkersHearsEveryMemberThroughMigrationAndLeaving) {
  TwoWorkers w;
  std::vector<std::unique_ptr<Member>> members;
  const auto on_worker1 = [&] { return w.pool.remote_peers(); };
  while (members.size() < 40 && (on_worker1() < 2 || members.size() - on_worker1() < 2)) {
    members.push_back(std::make_unique<Member>(w.io, w.server0.local_endpoint(), "ops",
                                               "m" + std::to_string(members.size())));
    Member& m = *members.back();
    ASSERT_TRUE(w.run_until([&] { return m.answered; })) << m.closed;
  }
  ASSERT_GE(on_worker1(), 2u);
  ASSERT_GE(members.size() - on_worker1(), 2u);
  const size_t n = members.size();
  ASSERT_TRUE(w.run_until([&] {
    return w.relay.metrics_text().find("wzp_relay_paths_measuring 0\n") != std::string::npos;
  }));
  // Each member talks as a call does, a frame every 20 ms, until everyone has heard everyone
  // (media is perishable: on a loaded machine a frame may be shed on the way, the next one not).
  const auto everyone_hears_everyone = [&](uint8_t base) {
    for (auto& m : members) m->markers.clear();
    const auto heard_all = [&] {
      for (size_t i = 0; i < n; ++i) {
        for (size_t j = 0; j < n; ++j) {
          if (i != j && !members[i]->markers.count(static_cast<uint8_t>(base + j))) return false;
        }
      }
      return true;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!heard_all() && std::chrono::steady_clock::now() < deadline) {
      for (size_t i = 0; i < n; ++i) members[i]->send_media(static_cast<uint8_t>(base + i));
      w.io.run_for(std::chrono::milliseconds(20));
    }
    const bool all = heard_all();
    for (size_t i = 0; i < n; ++i) {
      EXPECT_FALSE(members[i]->markers.count(static_cast<uint8_t>(base + i)))
          << members[i]->name << " hears itself";
    }
    return all;
  };
  EXPECT_TRUE(everyone_hears_everyone(100));
  for (auto& m : members) m->client->migrate();
  EXPECT_TRUE(everyone_hears_everyone(150));
  EXPECT_EQ(w.pool.remote_peers() + w.server0.connections(), n);  // nobody reconnected

  const auto text = w.metrics();
  EXPECT_NE(text.find("wzp_relay_quic_connections " + std::to_string(n) + "\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("wzp_relay_workers 2\n"), std::string::npos);
  EXPECT_NE(text.find(R"(wzp_relay_worker_dropped_total{direction="to_rooms"} 0)"),
            std::string::npos);

  // Members hang up one by one until one held by worker 1 has: the room logic hears of each
  // and tells the others.
  std::vector<bool> left(n, false);
  size_t remaining = n;
  for (size_t i = 0; i < n; ++i) {
    const size_t before = w.pool.remote_peers();
    members[i]->client->connection().close("bye");
    left[i] = true;
    --remaining;
    ASSERT_TRUE(w.run_until([&] { return w.relay.sessions() == remaining; }));
    if (w.pool.remote_peers() < before) break;
  }
  ASSERT_GT(remaining, 0u);  // worker 0 holds two at least
  for (size_t i = 0; i < n; ++i) {
    if (left[i]) continue;
    EXPECT_TRUE(w.run_until([&] {
      auto u = members[i]->last_update();
      return u && u->participants.size() == remaining;
    })) << members[i]->name;
    EXPECT_TRUE(members[i]->closed.empty()) << members[i]->closed;
  }
}

}  // namespace
}  // namespace wzp::relay
