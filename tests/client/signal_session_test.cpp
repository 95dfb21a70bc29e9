// The signalling session's reconnect behaviour, on a simulated clock.
#include "client/signal_session.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace wzp::client {
namespace {

using Kind = SignalEvent::Kind;

struct FakeRelayNet;

struct FakeConnection : SignalConnection {
  FakeRelayNet& net;
  std::string relay;
  Handlers handlers;
  bool open = true;
  FakeConnection(FakeRelayNet& n, std::string r) : net(n), relay(std::move(r)) {}
  ~FakeConnection() override;
  void send(const proto::SignalMessage& msg) override;
  void close() override;
  void set_handlers(Handlers h) override { handlers = std::move(h); }
  void drop(const std::string& why);  // the relay went away
};

// Relays that are up or down; connects take `latency` simulated ms.
struct FakeRelayNet : SignalConnector {
  proto::SimScheduler& sched;
  std::set<std::string> up;
  uint64_t latency = 50;
  std::vector<std::pair<uint64_t, std::string>> attempts;  // (time, relay)
  std::map<std::string, int> open_connections;
  std::vector<FakeConnection*> live;
  explicit FakeRelayNet(proto::SimScheduler& s) : sched(s) {}
  void connect(const std::string& relay, Done done) override {
    attempts.emplace_back(sched.now_ms(), relay);
    sched.call_after(latency, [this, relay, done] {
      if (!up.count(relay)) return done(nullptr, "connection refused");
      auto c = std::make_unique<FakeConnection>(*this, relay);
      ++open_connections[relay];
      live.push_back(c.get());
      done(std::move(c), {});
    });
  }
  void kill(const std::string& relay) {  // SIGKILL: drop every connection to it
    up.erase(relay);
    for (auto* c : std::vector<FakeConnection*>(live)) {
      if (c->relay == relay && c->open) c->drop("connection lost");
    }
  }
};

FakeConnection::~FakeConnection() {
  if (open) --net.open_connections[relay];
  std::erase(net.live, this);
}
void FakeConnection::send(const proto::SignalMessage& msg) {
  if (std::holds_alternative<proto::RegisterPresence>(msg)) {
    auto* self = this;
    net.sched.call_after(5, [self, &net = net] {
      if (std::find(net.live.begin(), net.live.end(), self) != net.live.end() && self->open) {
        self->handlers.on_message(proto::RegisterPresenceAck{"fp", true, std::nullopt});
      }
    });
  }
}
void FakeConnection::drop(const std::string& why) {
  close();
  handlers.on_closed(why);
}
void FakeConnection::close() {
  if (open) --net.open_connections[relay];
  open = false;
}

struct Fixture {
  proto::SimScheduler sched;
  FakeRelayNet net{sched};
  crypto::Identity id = crypto::Identity::generate();
  std::vector<SignalEvent> events;
  SignalSession session{id, net, sched, [this](const SignalEvent& e) { events.push_back(e); }};
  int count(Kind k) const {
    return static_cast<int>(std::count_if(events.begin(), events.end(),
                                          [k](const SignalEvent& e) { return e.kind == k; }));
  }
};

TEST(SignalSession, RegistersAndReportsIt) {
  Fixture f;
  f.net.up = {"relay-a"};
  f.session.register_relay("relay-a");
  f.sched.advance(100);
  EXPECT_TRUE(f.session.registered());
  ASSERT_EQ(f.count(Kind::kRegistered), 1);
  EXPECT_EQ(f.events.back().relay, "relay-a");
  EXPECT_EQ(f.events.back().fingerprint, f.id.fingerprint());
}

TEST(SignalSession, RegisteringTheSameRelayAgainIsANoOp) {
  Fixture f;
  f.net.up = {"relay-a"};
  f.session.register_relay("relay-a");
  f.sched.advance(100);
  f.session.register_relay("relay-a");
  f.sched.advance(100);
  EXPECT_EQ(f.net.attempts.size(), 1u);
  EXPECT_EQ(f.net.open_connections["relay-a"], 1);
}

// The exact schedule: at once, then 1, 2, 4, 8, 15, 30, 30 s after each failure.
TEST(SignalSession, BackoffScheduleIsExactAndNeverGivesUp) {
  Fixture f;
  f.net.latency = 0;  // failures are immediate, so attempt times are the schedule itself
  f.session.register_relay("relay-a");  // down
  f.sched.advance(200000);
  std::vector<uint64_t> times;
  for (const auto& [t, r] : f.net.attempts) times.push_back(t);
  const std::vector<uint64_t> expected = {0,     0,     1000,  3000,   7000,   15000,
                                          30000, 60000, 90000, 120000, 150000, 180000};
  ASSERT_GE(times.size(), expected.size());
  EXPECT_EQ(std::vector<uint64_t>(times.begin(), times.begin() + expected.size()), expected);
  // (The first attempt is the register itself; the supervisor's first try follows at once.)
  EXPECT_TRUE(f.session.supervisor_running());
  // Reconnecting events carry the attempt and the wait before it.
  std::vector<uint64_t> delays;
  for (const auto& e : f.events) {
    if (e.kind == Kind::kReconnecting) delays.push_back(e.next_delay_ms);
  }
  const std::vector<uint64_t> expected_delays = {0, 1000, 2000, 4000, 8000, 15000, 30000, 30000};
  EXPECT_EQ(std::vector<uint64_t>(delays.begin(), delays.begin() + 8), expected_delays);
  // The relay comes back: the next try registers, and the supervisor ends.
  f.net.up = {"relay-a"};
  f.sched.advance(31000);
  EXPECT_TRUE(f.session.registered());
  EXPECT_FALSE(f.session.supervisor_running());
}

TEST(SignalSession, DropAfterSuccessStartsOneFreshSupervisorWhateverTheTriggers) {
  Fixture f;
  f.net.up = {"relay-a"};
  f.session.register_relay("relay-a");
  f.sched.advance(100);
  ASSERT_TRUE(f.session.registered());
  f.net.kill("relay-a");  // the receive loop ends
  EXPECT_TRUE(f.session.supervisor_running());
  // More triggers while it runs: a manual register of the same relay, another drop.
  f.session.register_relay("relay-a");
  f.sched.advance(20000);
  // One attempt at a time: never two connects in flight.
  for (size_t i = 1; i < f.net.attempts.size(); ++i) {
    EXPECT_GE(f.net.attempts[i].first, f.net.attempts[i - 1].first + f.net.latency);
  }
  f.net.up = {"relay-a"};
  f.sched.advance(31000);
  EXPECT_TRUE(f.session.registered());
  EXPECT_EQ(f.net.open_connections["relay-a"], 1);  // exactly one connection
  // A later drop gets a fresh supervisor that tries at once.
  const size_t before = f.net.attempts.size();
  f.net.up = {"relay-a"};
  for (auto* c : std::vector<FakeConnection*>(f.net.live)) {
    if (c->open) c->drop("reset");
  }
  f.sched.advance(200);
  EXPECT_EQ(f.net.attempts.size(), before + 1);
  EXPECT_TRUE(f.session.registered());
}

TEST(SignalSession, DeregisterDuringBackoffStopsIt) {
  Fixture f;
  f.session.register_relay("relay-a");  // down
  f.sched.advance(5000);
  ASSERT_TRUE(f.session.supervisor_running());
  const size_t attempts = f.net.attempts.size();
  f.session.deregister();
  f.sched.advance(600000);
  EXPECT_EQ(f.net.attempts.size(), attempts);
  EXPECT_FALSE(f.session.supervisor_running());
  EXPECT_FALSE(f.session.desired_relay().has_value());
  EXPECT_EQ(f.count(Kind::kDeregistered), 1);
}

TEST(SignalSession, SwitchingRelayDuringBackoffResetsTheScheduleAndMovesThere) {
  Fixture f;
  f.net.latency = 0;
  f.session.register_relay("relay-a");  // down
  f.sched.advance(40000);               // deep into the backoff (30 s steps)
  f.net.up = {"relay-b"};
  f.session.register_relay("relay-b");
  f.sched.advance(100);
  EXPECT_TRUE(f.session.registered());
  EXPECT_EQ(f.net.attempts.back().second, "relay-b");
  EXPECT_EQ(f.net.attempts.back().first, 40000u);  // at once, not after the 30 s step
  EXPECT_EQ(f.net.open_connections["relay-b"], 1);
  EXPECT_EQ(f.net.open_connections["relay-a"], 0);
}

TEST(SignalSession, SwitchingWhileRegisteredMovesWithoutADuplicate) {
  Fixture f;
  f.net.up = {"relay-a", "relay-b"};
  f.session.register_relay("relay-a");
  f.sched.advance(100);
  f.session.register_relay("relay-b");
  f.sched.advance(100);
  EXPECT_TRUE(f.session.registered());
  EXPECT_EQ(f.net.open_connections["relay-a"], 0);
  EXPECT_EQ(f.net.open_connections["relay-b"], 1);
  EXPECT_EQ(f.count(Kind::kRegistered), 2);
}

// With fallbacks (a cluster's other relays), the supervisor's tries go round the desired relay
// and the fallbacks, starting after the relay just lost: its relay killed, the session tries
// the next one at once and is registered on the first that answers; a later drop goes on round
// to the desired relay.
TEST(SignalSession, ARelayThatDiesIsLeftForTheNextFallbackThatAnswers) {
  Fixture f;
  f.net.up = {"relay-a", "relay-c"};
  f.session.set_fallbacks({"relay-b", "relay-c"});
  f.session.register_relay("relay-a");
  f.sched.advance(100);
  ASSERT_TRUE(f.session.registered());
  f.net.attempts.clear();
  const uint64_t killed = f.sched.now_ms();
  f.net.kill("relay-a");
  f.sched.advance(5000);
  ASSERT_TRUE(f.session.registered());
  EXPECT_EQ(f.session.relay(), "relay-c");
  EXPECT_EQ(f.events.back().kind, Kind::kRegistered);
  EXPECT_EQ(f.events.back().relay, "relay-c");
  // Tried in turn from the next one: b at once, c a second after it failed.
  std::vector<std::pair<uint64_t, std::string>> expected = {{killed, "relay-b"},
                                                            {killed + 50 + 1000, "relay-c"}};
  EXPECT_EQ(f.net.attempts, expected);
  EXPECT_EQ(f.session.desired_relay(), "relay-a");  // still what the user asked for
  // relay-c dies and relay-a is back: the round goes on to relay-a.
  f.net.up = {"relay-a"};
  f.net.attempts.clear();
  f.net.kill("relay-c");
  f.sched.advance(1000);
  ASSERT_TRUE(f.session.registered());
  EXPECT_EQ(f.session.relay(), "relay-a");
  ASSERT_EQ(f.net.attempts.size(), 1u);
  EXPECT_EQ(f.net.open_connections["relay-a"], 1);
}

}  // namespace
}  // namespace wzp::client
