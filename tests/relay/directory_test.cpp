// The cluster directory against a real redis-server (Debian's, started by each test on a port
// of its own): the Redis connection, its outages, and what a relay publishes.
#include <utility>

#include <gtest/gtest.h>

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "relay/directory.h"
#include "support/redis_ask.h"
#include "support/redis_server.h"
#include "support/run_until.h"
#include "transport/asio_scheduler.h"
#include "transport/redis_client.h"

namespace wzp::relay {
namespace {

namespace asio = boost::asio;
using transport::RedisClient;
using transport::RedisConfig;

RedisConfig config_for(const testing::RedisServer& server) {
  RedisConfig c;
  c.address = *transport::parse_address(server.address()).address;
  return c;
}

using testing::run_until;

std::optional<proto::RespValue> ask(asio::io_context& io, RedisClient& redis,
                                    std::vector<std::string> args) {
  return testing::redis_ask(io, redis, std::move(args));
}
using testing::redis_items;

std::string numbered(const char* prefix, int i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

TEST(Redis, PipelinedCommandsEachGetTheirOwnReplyErrorsIncluded) {
  testing::RedisServer server;
  asio::io_context io;
  RedisClient redis(io, config_for(server));
  ASSERT_TRUE(run_until(io, [&] { return redis.up(); }));
  // 2000 commands in one go: each callback gets the reply to its own command, in order.
  std::vector<std::string> got(1000);
  int answered = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = numbered("k", i);
    redis.command({"SET", key, numbered("v", i)});
    redis.command({"GET", key}, [&, i](const proto::RespValue* r) {
      ++answered;
      if (r) got[static_cast<size_t>(i)] = r->text;
    });
  }
  ASSERT_TRUE(run_until(io, [&] { return answered == 1000; }));
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], numbered("v", i));
  const auto wrong = ask(io, redis, {"INCR", "k1"});  // not an integer: an error reply
  ASSERT_TRUE(wrong);
  EXPECT_TRUE(wrong->is_error());
  EXPECT_EQ(redis.counters().error_replies, 1u);
  EXPECT_EQ(ask(io, redis, {"GET", "missing"})->type, proto::RespValue::Type::kNull);
  EXPECT_TRUE(redis.up());  // an error reply is an answer, not a broken connection
}

// Redis killed: commands fail at once (nothing queues up while it is away), the state change
// is said once, and the client is back within the backoff's ceiling of its return.
TEST(Redis, AServerThatDiesFailsCommandsAtOnceAndIsRedialledWhenBack) {
  testing::RedisServer server;
  asio::io_context io;
  std::vector<std::pair<bool, std::string>> states;
  RedisClient redis(io, config_for(server),
                    [&](bool up, const std::string& why) { states.emplace_back(up, why); });
  ASSERT_TRUE(run_until(io, [&] { return redis.up(); }));
  server.stop();
  ASSERT_TRUE(run_until(io, [&] { return !redis.up(); }));
  bool failed = false;
  redis.command({"PING"}, [&](const proto::RespValue* r) { failed = r == nullptr; });
  EXPECT_TRUE(failed);                          // at once, inside command()
  io.run_for(std::chrono::milliseconds(1500));  // several redials fail meanwhile
  ASSERT_TRUE(server.start());
  const auto back = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(io, [&] { return redis.up(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - back, std::chrono::milliseconds(2500));
  EXPECT_EQ(ask(io, redis, {"PING"})->text, "PONG");
  ASSERT_EQ(states.size(), 3u);  // up, down (once, however many redials failed), up
  EXPECT_TRUE(states[0].first);
  EXPECT_FALSE(states[1].first);
  EXPECT_FALSE(states[1].second.empty());
  EXPECT_TRUE(states[2].first);
  EXPECT_EQ(redis.counters().disconnects, 1u);
  EXPECT_GE(redis.counters().failed, 1u);
}

// A Redis that asks for a password: given the right one (as requirepass, and as an ACL user's)
// the client is up and its commands work; given a wrong one it is never up, and says why once,
// naming Redis's refusal, while it keeps redialling.
TEST(Redis, CredentialsAreSentFirstAndARefusalIsSaidWithRedissReason) {
  testing::RedisServer server({"--requirepass", "s3cret"});
  asio::io_context io;
  RedisConfig good = config_for(server);
  good.password = "s3cret";
  RedisClient redis(io, good);
  ASSERT_TRUE(run_until(io, [&] { return redis.up(); }));
  EXPECT_EQ(ask(io, redis, {"SET", "k", "v"})->text, "OK");
  EXPECT_EQ(ask(io, redis, {"GET", "k"})->text, "v");
  // An ACL user of its own.
  EXPECT_EQ(ask(io, redis, {"ACL", "SETUSER", "relay", "on", ">pw", "~wzp:*", "+@all"})->text,
            "OK");
  RedisConfig user = config_for(server);
  user.username = "relay";
  user.password = "pw";
  RedisClient as_user(io, user);
  ASSERT_TRUE(run_until(io, [&] { return as_user.up(); }));
  EXPECT_EQ(ask(io, as_user, {"SET", "wzp:x", "1"})->text, "OK");
  EXPECT_TRUE(ask(io, as_user, {"SET", "other", "1"})->is_error());  // outside its keys
  // The wrong password.
  std::vector<std::pair<bool, std::string>> states;
  RedisConfig bad = config_for(server);
  bad.password = "guess";
  RedisClient refused(io, bad,
                      [&](bool up, const std::string& why) { states.emplace_back(up, why); });
  run_until(
      io, [] { return false; }, 800);  // several redials
  EXPECT_FALSE(refused.up());
  ASSERT_EQ(states.size(), 1u);
  EXPECT_FALSE(states[0].first);
  EXPECT_NE(states[0].second.find("Redis refused our credentials (AUTH): WRONGPASS"),
            std::string::npos)
      << states[0].second;
  EXPECT_GE(refused.counters().error_replies, 2u);
  // No password at all: commands are answered NOAUTH (the relay's counters show it).
  RedisClient none(io, config_for(server));
  ASSERT_TRUE(run_until(io, [&] { return none.up(); }));
  const auto r = ask(io, none, {"GET", "k"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_error());
  EXPECT_NE(r->text.find("NOAUTH"), std::string::npos) << r->text;
}

// A server that holds the connection and answers nothing (stopped, overloaded) counts as gone
// once a reply is overdue: its commands fail rather than wait forever.
TEST(Redis, AServerThatAnswersNothingCountsAsGone) {
  testing::RedisServer server;
  asio::io_context io;
  RedisConfig c = config_for(server);
  c.reply_timeout = std::chrono::milliseconds(300);
  RedisClient redis(io, c);
  ASSERT_TRUE(run_until(io, [&] { return redis.up(); }));
  server.freeze();
  EXPECT_FALSE(ask(io, redis, {"PING"}).has_value());
  EXPECT_FALSE(redis.up());
  server.thaw();
  ASSERT_TRUE(run_until(io, [&] { return redis.up(); }));
  EXPECT_EQ(ask(io, redis, {"PING"})->text, "PONG");
}

// Whatever answers on Redis's port and is not Redis: the connection is dropped with the
// reason, the command fails, nothing crashes.
TEST(Redis, WhatIsNotRedisIsDroppedWithTheReason) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket peer(io);
  std::array<char, 256> command{};
  // It answers the first command it reads.
  acceptor.async_accept(peer, [&](const boost::system::error_code& ec) {
    if (ec) return;
    peer.async_read_some(asio::buffer(command), [&](const boost::system::error_code& e, size_t) {
      if (!e) asio::write(peer, asio::buffer(std::string("HTTP/1.1 400 Bad Request\r\n\r\n")));
    });
  });
  RedisConfig c;
  c.address = {"127.0.0.1", acceptor.local_endpoint().port()};
  std::string why;
  RedisClient redis(io, c, [&](bool up, const std::string& w) {
    if (!up) why = w;
  });
  ASSERT_TRUE(run_until(io, [&] { return redis.up(); }));
  EXPECT_FALSE(ask(io, redis, {"PING"}).has_value());
  EXPECT_NE(why.find("bad reply"), std::string::npos) << why;
}

struct Published {
  std::vector<std::string> relays, room, gone_room;
  std::optional<proto::RespValue> entry, presence;
};

// What a relay puts in the directory, read back with a client of our own.
TEST(Directory, ARelayItsRoomsAndRegistrationsAreListedAndFollowItsLoad) {
  testing::RedisServer server;
  asio::io_context io;
  transport::AsioScheduler scheduler(io);
  RedisClient redis(io, config_for(server)), reader(io, config_for(server));
  DirectoryLoad load{.sessions = 3, .rooms = {{"room-a", 2}, {"room-b", 1}}, .present = {"fp1"}};
  uint64_t wall = 1'000'000;
  Directory dir(
      scheduler, redis, {"relay-1", "198.51.100.7:4433", "certfp"}, [&] { return load; },
      [&] { return wall; });
  // What the directory sent is in Redis once a later command on its own connection (which
  // Redis answers in order) is answered: the reader's connection is another one.
  const auto settle = [&] { ask(io, redis, {"PING"}); };
  ASSERT_TRUE(run_until(io, [&] {
    return reader.up() && redis_items(ask(io, reader, {"ZRANGE", "wzp:relays", "0", "-1"})) ==
                              std::vector<std::string>{"relay-1"};
  }));
  const auto entry = ask(io, reader, {"HGETALL", "wzp:relay:relay-1"});
  const auto fields = redis_items(entry);
  std::map<std::string, std::string> hash;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) hash[fields[i]] = fields[i + 1];
  EXPECT_EQ(hash["address"], "198.51.100.7:4433");
  EXPECT_EQ(hash["fingerprint"], "certfp");
  EXPECT_EQ(hash["sessions"], "3");
  EXPECT_EQ(hash["rooms"], "2");
  const auto score = ask(io, reader, {"ZSCORE", "wzp:relays", "relay-1"});
  EXPECT_EQ(score->text, std::to_string(wall + Directory::kTtlMs));  // listed until then
  EXPECT_EQ(redis_items(ask(io, reader, {"ZRANGE", "wzp:room:room-a", "0", "-1"})),
            std::vector<std::string>{"relay-1"});
  EXPECT_EQ(ask(io, reader, {"GET", "wzp:presence:fp1"})->text, "relay-1");
  const auto ttl = ask(io, reader, {"PTTL", "wzp:relay:relay-1"})->integer;
  EXPECT_GT(ttl, 1000);
  EXPECT_LE(ttl, static_cast<int64_t>(Directory::kTtlMs));
  // room-b empties here: it is taken out at the next publication, not left to expire.
  load.rooms = {{"room-a", 2}};
  wall += 1000;
  dir.publish();
  settle();
  EXPECT_TRUE(redis_items(ask(io, reader, {"ZRANGE", "wzp:room:room-b", "0", "-1"})).empty());
  // Another relay's entry that stopped being refreshed is trimmed by the next publication.
  ask(io, reader, {"ZADD", "wzp:relays", std::to_string(wall - 1), "relay-dead"});
  dir.publish();
  settle();
  EXPECT_EQ(redis_items(ask(io, reader, {"ZRANGE", "wzp:relays", "0", "-1"})),
            std::vector<std::string>{"relay-1"});
  // A clean shutdown takes it all out at once; a registration that moved on is not touched.
  ask(io, reader, {"SET", "wzp:presence:fp1", "relay-2"});
  dir.withdraw();
  settle();
  EXPECT_TRUE(redis_items(ask(io, reader, {"ZRANGE", "wzp:relays", "0", "-1"})).empty());
  EXPECT_EQ(ask(io, reader, {"EXISTS", "wzp:relay:relay-1"})->integer, 0);
  EXPECT_TRUE(redis_items(ask(io, reader, {"ZRANGE", "wzp:room:room-a", "0", "-1"})).empty());
  EXPECT_EQ(ask(io, reader, {"GET", "wzp:presence:fp1"})->text, "relay-2");
}

// Redis restarted empty: the relay's entry is back within the redial backoff (2 s at most)
// and a publication of its return, with
// no resynchronisation step (every publication is whole); meanwhile the failures are counted.
TEST(Directory, RedisThatRestartsEmptyHasTheEntryBackWithinThreeSeconds) {
  testing::RedisServer server;
  asio::io_context io;
  transport::AsioScheduler scheduler(io);
  RedisClient redis(io, config_for(server)), reader(io, config_for(server));
  const auto now = [] {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  };
  Directory dir(
      scheduler, redis, {"relay-1", "127.0.0.1:4433", "certfp"},
      [] {
        return DirectoryLoad{.sessions = 1, .rooms = {{"r", 1}}, .present = {}};
      },
      now);
  const auto listed = [&] {
    return redis_items(
               ask(io, reader, {"ZRANGEBYSCORE", "wzp:relays", std::to_string(now()), "+inf"})) ==
           std::vector<std::string>{"relay-1"};
  };
  ASSERT_TRUE(run_until(io, listed));
  server.stop();
  io.run_for(std::chrono::milliseconds(2500));
  const std::string metrics = dir.metrics_text("wzp_relay");
  EXPECT_NE(metrics.find("wzp_relay_redis_up 0"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("wzp_relay_directory_publish_failures_total 0\n"), std::string::npos);
  // A message for another relay's inbox meanwhile is lost, and counted apart from publications.
  const auto publish_failures = [&] {
    const std::string m = dir.metrics_text("wzp_relay");
    const std::string name = "\nwzp_relay_directory_publish_failures_total ";
    return std::stod(m.substr(m.find(name) + name.size()));
  };
  const double before = publish_failures();
  dir.post("relay-2", "ring");
  const std::string after = dir.metrics_text("wzp_relay");
  EXPECT_NE(after.find("wzp_relay_inbox_post_failures_total 1\n"), std::string::npos) << after;
  EXPECT_NE(after.find("wzp_relay_inbox_posted_total 0\n"), std::string::npos) << after;
  EXPECT_EQ(publish_failures(), before);
  ASSERT_TRUE(server.start());
  const auto back = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(io, [&] { return reader.up() && listed(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - back, std::chrono::milliseconds(3000));
  EXPECT_NE(dir.metrics_text("wzp_relay").find("wzp_relay_redis_up 1"), std::string::npos);
}

// A room's home: the first relay to ask claims it, the others are told its address and
// certificate while it is alive in the directory, and once its entry has lapsed the next to
// ask takes the home over.
TEST(Directory, ARoomHasOneHomeWhileItsRelayLivesAndANewOneAfter) {
  testing::RedisServer server;
  asio::io_context io;
  transport::AsioScheduler scheduler(io);
  RedisClient ra(io, config_for(server)), rb(io, config_for(server));
  uint64_t wall_a = 5'000'000, wall_b = 5'000'000;
  Directory a(
      scheduler, ra, {"relay-a", "10.0.0.1:4433", "fp-a"},
      [] {
        return DirectoryLoad{.sessions = 1, .rooms = {{"r", 1}}, .present = {}};
      },
      [&] { return wall_a; });
  Directory b(
      scheduler, rb, {"relay-b", "10.0.0.2:4433", "fp-b"}, [] { return DirectoryLoad{}; },
      [&] { return wall_b; });
  ASSERT_TRUE(run_until(io, [&] { return ra.up() && rb.up(); }));
  const auto home = [&](Directory& d) {
    std::optional<RelayAt> out;
    bool done = false;
    d.home_of("r", [&](std::optional<RelayAt> h) {
      out = std::move(h);
      done = true;
    });
    run_until(io, [&] { return done; });
    return out;
  };
  a.publish();  // relay-a is listed, alive until wall_a + kTtlMs
  const auto first = home(a);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->relay_id, "relay-a");
  EXPECT_TRUE(first->address.empty());  // it is us
  const auto seen = home(b);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->relay_id, "relay-a");
  EXPECT_EQ(seen->address, "10.0.0.1:4433");
  EXPECT_EQ(seen->fingerprint, "fp-a");
  // relay-a stops publishing (it died): once its listing has lapsed, relay-b takes the home.
  a.withdraw();
  ask(io, ra, {"ZADD", "wzp:relays", std::to_string(wall_a + Directory::kTtlMs), "relay-a"});
  ask(io, ra, {"SET", "wzp:home:r", "relay-a"});
  wall_b = wall_a + Directory::kTtlMs + 1;
  const auto taken = home(b);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->relay_id, "relay-b");
  EXPECT_EQ(redis_items(ask(io, rb, {"GET", "wzp:home:r"})), std::vector<std::string>{"relay-b"});
}

// A fingerprint is located on the relay it is registered on while that relay is listed alive,
// and nowhere once it has lapsed. A message posted to a relay's inbox is taken by that relay
// with the poster's ID, once; what is not a message (no sender, too long) is dropped, counted.
TEST(Directory, FingerprintsAreLocatedAndInboxesCarryMessagesBetweenRelays) {
  testing::RedisServer server;
  asio::io_context io;
  transport::AsioScheduler scheduler(io);
  RedisClient ra(io, config_for(server)), rb(io, config_for(server));
  uint64_t wall = 5'000'000;
  Directory a(
      scheduler, ra, {"relay-a", "10.0.0.1:4433", "fp-a"},
      [] { return DirectoryLoad{.sessions = 1, .rooms = {}, .present = {"alice"}}; },
      [&] { return wall; });
  Directory b(
      scheduler, rb, {"relay-b", "10.0.0.2:4433", "fp-b"}, [] { return DirectoryLoad{}; },
      [&] { return wall; });
  ASSERT_TRUE(run_until(io, [&] { return ra.up() && rb.up(); }));
  a.publish();
  // What a sent is in Redis once a PING behind it on a's own connection is answered (b asks
  // on another connection, which may overtake it).
  ask(io, ra, {"PING"});
  const auto locate = [&](const std::string& fp) {
    std::optional<RelayAt> out;
    bool done = false;
    b.locate(fp, [&](std::optional<RelayAt> at) {
      out = std::move(at);
      done = true;
    });
    run_until(io, [&] { return done; });
    return out;
  };
  const auto alice = locate("alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->relay_id, "relay-a");
  EXPECT_EQ(alice->address, "10.0.0.1:4433");
  EXPECT_EQ(alice->fingerprint, "fp-a");
  ASSERT_TRUE(locate("nobody"));
  EXPECT_TRUE(locate("nobody")->relay_id.empty());
  // Inboxes.
  std::vector<std::pair<std::string, std::string>> got;
  b.on_inbox(
      [&](const std::string& from, const std::string& text) { got.emplace_back(from, text); });
  a.post("relay-b", "hello");
  a.post("relay-b", "again\nwith a newline");
  ask(io, ra, {"RPUSH", "wzp:inbox:relay-b", "no sender"});
  ask(io, ra, {"RPUSH", "wzp:inbox:relay-b", "relay-a\n" + std::string(5000, 'x')});
  ASSERT_TRUE(run_until(io, [&] { return got.size() >= 2; }));
  run_until(
      io, [] { return false; }, 2 * Directory::kInboxPollMs);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{
                     {"relay-a", "hello"}, {"relay-a", "again\nwith a newline"}}));
  EXPECT_NE(b.metrics_text("wzp_relay").find("wzp_relay_inbox_dropped_total 2"), std::string::npos);
  const auto integer = [&](std::vector<std::string> args) {
    const auto r = ask(io, ra, std::move(args));
    return r ? r->integer : -1;
  };
  EXPECT_EQ(integer({"LLEN", "wzp:inbox:relay-b"}), 0);
  // The inbox is bounded and lapses on its own.
  for (size_t i = 0; i < Directory::kInboxMax + 10; ++i)
    a.post("relay-c", numbered("m", static_cast<int>(i)));
  EXPECT_EQ(integer({"LLEN", "wzp:inbox:relay-c"}), static_cast<int64_t>(Directory::kInboxMax));
  const int64_t ttl = integer({"PTTL", "wzp:inbox:relay-c"});
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, static_cast<int64_t>(Directory::kInboxTtlMs));
  // Alice's relay lapses: she is found nowhere.
  a.withdraw();
  wall += Directory::kTtlMs + 1;
  ask(io, ra, {"SET", "wzp:presence:alice", "relay-a"});
  ASSERT_TRUE(locate("alice"));
  EXPECT_TRUE(locate("alice")->relay_id.empty());
}

}  // namespace
}  // namespace wzp::relay
