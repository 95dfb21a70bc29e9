// The relay on two worker threads, as wzp-relay --workers 2 runs it: worker 0 (here the test's
// own loop) holds the room logic and a QUIC server; worker 1, on a thread of its own, a second
// server on the same port, linked to worker 0 by rings. The kernel steers by connection ID: our
// clients' first one names their room, so a room's members share a worker, which forwards their
// media itself; members that choose at random land on either worker and one room spans both.
#include <gtest/gtest.h>

#include "relay/workers.h"
#include "relay_fixture.h"

namespace wzp::relay {
namespace {

struct TwoWorkers {
  explicit TwoWorkers(RelayConfig config = {}) : relay{io, relay_id, std::move(config)} {}
  asio::io_context io;  // worker 0, and the members
  crypto::Identity relay_id = crypto::Identity::generate();
  transport::TlsCertificate cert = transport::generate_certificate("wzp-relay");
  RelayServer relay;
  transport::QuicServer server0{io,
                                udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                                cert,
                                relay,
                                transport::QuicConfig{},
                                transport::QuicWorker{0, 2}};
  WorkerPool pool{io, relay, server0, cert};

  bool run_until(const std::function<bool()>& done, int ms = 10000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(5));
    }
    return done();
  }
  // n members join `room` one after another (fewer when one is not answered: the test says
  // so); with `talk`, those already in send media meanwhile.
  std::vector<std::unique_ptr<Member>> join(const std::string& room, int n, bool talk = false) {
    std::vector<std::unique_ptr<Member>> members;
    for (int i = 0; i < n; ++i) {
      std::string name = "m";  // not "m" + ...: GCC 12 warns falsely (-Wrestrict)
      name += std::to_string(i);
      members.push_back(std::make_unique<Member>(io, server0.local_endpoint(), room, name));
      Member& m = *members.back();
      const bool in = run_until([&] {
        for (auto& k : members) {
          if (talk && k->answered) k->send_media(1);
        }
        if (talk) io.run_for(std::chrono::milliseconds(15));
        return m.answered;
      });
      if (!in) {
        ADD_FAILURE() << m.name << " not answered: " << m.closed;
        members.pop_back();
        break;
      }
    }
    return members;
  }
  // As wzp-relay serves /metrics: worker 0's (room logic and server) summed with worker 1's.
  std::string metrics() {
    return pool.metrics_text(relay.metrics_text() + server0.metrics_text("wzp_relay"));
  }
};

// A room's name for which our clients' connection IDs name worker `k` of two.
std::string room_on_worker(size_t k, const std::string& base) {
  for (int i = 0;; ++i) {
    const std::string name = base + std::to_string(i);
    if (transport::sni_route_byte(proto::room_sni(name)) % 2 == k) return name;
  }
}

// Members talk as a call does (a frame every 20 ms) until each has heard every other; none may
// hear itself. Media is perishable: a frame shed on the way (a path still being measured) is
// followed by the next.
bool everyone_hears_everyone(asio::io_context& io, std::vector<std::unique_ptr<Member>>& members,
                             uint8_t base) {
  const size_t n = members.size();
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
    io.run_for(std::chrono::milliseconds(20));
  }
  for (size_t i = 0; i < n; ++i) {
    EXPECT_FALSE(members[i]->markers.count(static_cast<uint8_t>(base + i)))
        << members[i]->name << " hears itself";
  }
  return heard_all();
}

double metric(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

// Members join one room until each worker holds at least two of them; every member then hears
// every other and never itself; after each member migrates to a new port all of them still do
// (their packets follow their connection IDs to their worker); one on worker 1 leaving is seen
// by the others; the metrics add both workers' servers up.
TEST(RelayWorkers, ARoomSpanningTwoWorkersHearsEveryMemberThroughMigrationAndLeaving) {
  TwoWorkers w;
  std::vector<std::unique_ptr<Member>> members;
  const auto on_worker1 = [&] { return w.pool.remote_peers(); };
  transport::QuicConfig at_random;
  at_random.steer_by_sni = false;
  while (members.size() < 40 && (on_worker1() < 2 || members.size() - on_worker1() < 2)) {
    members.push_back(std::make_unique<Member>(w.io, w.server0.local_endpoint(), "ops",
                                               "m" + std::to_string(members.size()), at_random));
    Member& m = *members.back();
    ASSERT_TRUE(w.run_until([&] { return m.answered; })) << m.closed;
  }
  ASSERT_GE(on_worker1(), 2u);
  ASSERT_GE(members.size() - on_worker1(), 2u);
  const size_t n = members.size();
  ASSERT_TRUE(w.run_until([&] {
    return w.relay.metrics_text().find("wzp_relay_paths_measuring 0\n") != std::string::npos;
  }));
  EXPECT_TRUE(everyone_hears_everyone(w.io, members, 100));
  for (auto& m : members) m->client->migrate();
  EXPECT_TRUE(everyone_hears_everyone(w.io, members, 150));
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
      auto u = members[i]->known_room();
      return u && u->participants.size() == remaining;
    })) << members[i]->name;
    EXPECT_TRUE(members[i]->closed.empty()) << members[i]->closed;
  }
}

// Three members of a room on worker 1 (their connection IDs name it) hear each other, and the
// room logic on worker 0 never sees their media: worker 1 forwards it from the routes worker 0
// gave it, and the scrape counts it there. When one leaves, the others' routes lose it (it
// hears nothing more) and they still hear each other. A member of another room on worker 0 hears
// none of it.
TEST(RelayWorkers, ARoomOnOneWorkerIsForwardedByThatWorkerAlone) {
  TwoWorkers w;
  const std::string room = room_on_worker(1, "steered-");
  auto members = w.join(room, 3);
  ASSERT_EQ(members.size(), 3u);
  Member other(w.io, w.server0.local_endpoint(), room_on_worker(0, "elsewhere-"), "other");
  ASSERT_TRUE(w.run_until([&] { return other.answered; })) << other.closed;
  EXPECT_EQ(w.pool.remote_peers(), 3u);  // the room's three, on worker 1
  EXPECT_EQ(w.server0.connections(), 1u);
  ASSERT_TRUE(w.run_until([&] {
    return w.relay.metrics_text().find("wzp_relay_paths_measuring 0\n") != std::string::npos;
  }));

  EXPECT_TRUE(everyone_hears_everyone(w.io, members, 10));
  EXPECT_EQ(w.relay.stats().datagrams_in, 0u);  // no media reached the room logic's worker
  EXPECT_TRUE(other.markers.empty());
  auto text = w.metrics();
  EXPECT_GT(metric(text, "wzp_relay_worker_routed_datagrams_total"), 0) << text;
  EXPECT_EQ(metric(text, "wzp_relay_datagrams_received_total"),
            metric(text, "wzp_relay_worker_routed_datagrams_total"));
  EXPECT_EQ(metric(text, "wzp_relay_datagrams_sent_total"),
            2 * metric(text, "wzp_relay_datagrams_received_total"));

  // The third says goodbye and stays connected: its media goes nowhere now, and it hears none.
  members[2]->client->connection().send_stream(proto::frame_signal(proto::Hangup{}));
  ASSERT_TRUE(w.run_until([&] { return w.relay.members(proto::room_sni(room)) == 2; }));
  auto leaver = std::move(members[2]);
  members.pop_back();
  ASSERT_TRUE(w.run_until([&] { return !leaver->closed.empty(); }));
  leaver->markers.clear();
  EXPECT_TRUE(everyone_hears_everyone(w.io, members, 40));
  EXPECT_TRUE(leaver->markers.empty());
}

// A member whose media its worker forwards is still seen as active by the room logic (nobody
// is hung up as idle while talking), and one that floods is cut off as the room logic would
// cut it off, while the others keep hearing each other.
TEST(RelayWorkers, AWorkerForwardingARoomKeepsTheRateLimitAndTheIdleSweep) {
  RelayConfig config;
  config.idle_timeout = std::chrono::milliseconds(1500);
  config.rate = {.rate = 100, .burst = 100, .cut_off_after = 200};
  TwoWorkers w(config);
  const std::string room = room_on_worker(1, "limits-");
  auto members = w.join(room, 3, /*talk=*/true);  // the idle clock runs from each join
  ASSERT_EQ(members.size(), 3u);
  ASSERT_EQ(w.pool.remote_peers(), 3u);
  // Three seconds of talk, twice the idle timeout: no one is hung up.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < until) {
    for (auto& m : members) m->send_media(2);
    w.io.run_for(std::chrono::milliseconds(20));
  }
  for (auto& m : members) EXPECT_TRUE(m->closed.empty()) << m->name << ": " << m->closed;
  EXPECT_EQ(w.relay.sessions(), 3u);
  EXPECT_EQ(w.relay.stats().datagrams_in, 0u);

  // The third floods: cut off, counted, and the other two still hear each other.
  Member& flood = *members[2];
  ASSERT_TRUE(w.run_until([&] {
    for (int i = 0; i < 50; ++i) flood.send_media(3);
    return !flood.closed.empty();
  }));
  EXPECT_NE(flood.closed.find("packet rate exceeded"), std::string::npos) << flood.closed;
  auto flooder = std::move(members[2]);
  members.pop_back();
  EXPECT_TRUE(everyone_hears_everyone(w.io, members, 60));
  const auto text = w.metrics();
  EXPECT_EQ(metric(text, "wzp_relay_cut_off_total"), 1) << text;
  EXPECT_GT(metric(text, R"(wzp_relay_dropped_total{reason="rate_limited"})"), 0);
  for (auto& m : members) EXPECT_TRUE(m->closed.empty()) << m->name << ": " << m->closed;
}

}  // namespace
}  // namespace wzp::relay
