// wzp-relay as a real process on 127.0.0.1 with real wzp-client processes: three members of a
// room each hear the other two and never themselves while a fourth, in another room, hears
// nothing of them; and a call carried through a chain of two relays (forward mode), with the
// first relay probing the second.
#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "client/wav.h"
#include "codec/audio_analysis.h"
#include "codec/vad.h"
#include "fixtures.h"
#include "support/redis_ask.h"
#include "support/redis_server.h"
#include "transport/redis_client.h"

namespace wzp {
namespace {

using testing::client;
using testing::fresh_dir;
using testing::metric;

// Share of the energy at each frequency in seconds [from, to) of a recording.
std::vector<double> purity(const std::string& wav, double from, double to,
                           const std::vector<double>& freqs) {
  const auto rec = client::read_wav(wav);
  std::vector<double> out;
  const size_t a = static_cast<size_t>(from * 48000), b = static_cast<size_t>(to * 48000);
  if (rec.mono.size() < b) return std::vector<double>(freqs.size(), -1);
  const auto part = std::span(rec.mono).subspan(a, b - a);
  for (double f : freqs) out.push_back(codec::tone_purity(part, f));
  return out;
}

// a, b and c (one room) each hear the other two and never themselves; d (another room) leaked
// into none of them and, alone, heard nothing at all.
void expect_trio_apart_from_d(const std::filesystem::path& dir,
                              const std::vector<std::string>& names,
                              const std::vector<double>& freqs) {
  for (size_t i = 0; i < 3; ++i) {
    const auto p = purity((dir / (names[i] + ".wav")).string(), 2.5, 6.5, freqs);
    std::printf("%s hears: 440 Hz %.2f, 660 Hz %.2f, 990 Hz %.2f, 1320 Hz %.2f\n", names[i].c_str(),
                p[0], p[1], p[2], p[3]);
    for (size_t j = 0; j < 3; ++j) {
      if (j == i) {
        EXPECT_LT(p[j], 0.01) << names[i] << " hears itself";
      } else {
        EXPECT_GT(p[j], 0.2) << names[i] << " does not hear " << names[j];
      }
    }
    EXPECT_LT(p[3], 0.01) << "the other room leaked into " << names[i];
  }
  EXPECT_LT(codec::rms(client::read_wav((dir / "d.wav").string()).mono), 50);
}

TEST(RelayProcess, ThreeMembersHearTheOtherTwoNeverThemselvesAndRoomsDoNotLeak) {
  const auto dir = fresh_dir("trio");
  testing::Relay relay(dir / "relay");
  ASSERT_FALSE(relay.address.empty()) << "the relay did not start";
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  const std::vector<double> freqs = {440, 660, 990, 1320};
  std::vector<std::unique_ptr<testing::Process>> procs;
  for (size_t i = 0; i < names.size(); ++i) {
    // a, b and c share "trio"; d is alone in "solo", sending too.
    procs.push_back(client(dir, names[i], relay.address,
                           {"--room", i < 3 ? "trio" : "solo", "--send-tone", "7", "--tone-freq",
                            std::to_string(freqs[i]), "--record",
                            (dir / (names[i] + ".wav")).string(), "--duration", "8"}));
  }
  // d, alone, recorded silence and says so with its exit status.
  for (size_t i = 0; i < procs.size(); ++i)
    EXPECT_EQ(procs[i]->wait(std::chrono::seconds(25)), i < 3 ? 0 : 1);
  expect_trio_apart_from_d(dir, names, freqs);
  const auto text = relay.scrape(dir / "metrics.txt");
  EXPECT_EQ(metric(text, "wzp_relay_handshakes_total{result=\"ok\"}"), 4);
  // The health check beside the metrics: a load balancer's or a watchdog's question.
  const auto health = relay.get("/healthz", dir / "healthz.json");
  EXPECT_EQ(health.rfind(std::string(R"({"status":"ok","version":")") + WZP_VERSION +
                             R"(","mode":"rooms","sessions":)",
                         0),
            0u)
      << health;
  relay.proc->signal(SIGTERM);
  EXPECT_EQ(relay.proc->wait(std::chrono::seconds(3)), 0);
  std::filesystem::remove_all(dir);
}

// SIGHUP rereads the file: what can change while running does (here the room size), what
// cannot is named with the restart it needs, and a broken file changes nothing. Before, only
// the access lists were reloaded and every other change was silently ignored.
TEST(RelayProcess, ASighupReloadsWhatItCanAndNamesWhatNeedsARestart) {
  const auto dir = fresh_dir("hup");
  const auto toml = dir / "relay.toml";
  std::ofstream(toml) << "max_participants = 5\n";
  testing::Relay relay(dir / "relay", {"--config", toml.string()});
  ASSERT_FALSE(relay.address.empty());
  const auto read_until = [&](const std::string& what) {
    std::string seen;
    while (auto line = relay.proc->read_line(std::chrono::seconds(5))) {
      seen += *line + "\n";
      if (line->find(what) != std::string::npos) return seen;
    }
    ADD_FAILURE() << "the relay did not say '" << what << "':\n" << seen;
    return seen;
  };
  auto a = client(dir, "a", relay.address, {"--room", "r", "--duration", "15"});
  while (auto line = a->read_line(std::chrono::seconds(10))) {
    if (line->find("joined room") != std::string::npos) break;
  }
  std::ofstream(toml, std::ios::trunc)
      << "max_participants = 1\ntrunk_clients = true\nlog_level = \"warn\"\n[acl]\nops = []\n";
  relay.proc->signal(SIGHUP);
  const auto said = read_until("in force only after a restart");
  EXPECT_NE(said.find("reloaded " + toml.string() +
                      ": 1 room access lists; max_participants 5 -> 1, log_level info -> warn"),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("after a restart: trunk_clients"), std::string::npos) << said;
  // The smaller room is in force: a second member is turned away.
  auto b = client(dir, "b", relay.address, {"--room", "r", "--duration", "5"});
  std::string b_said;
  while (auto line = b->read_line(std::chrono::seconds(10))) b_said += *line + "\n";
  EXPECT_EQ(b->wait(std::chrono::seconds(5)), 1);
  EXPECT_NE(b_said.find("room full"), std::string::npos) << b_said;
  // A broken file: said, and nothing changes.
  std::ofstream(toml, std::ios::trunc) << "max_participants = \"many\"\n";
  relay.proc->signal(SIGHUP);
  const auto refused = read_until("reload failed");
  EXPECT_NE(refused.find("reload failed, nothing changed: config " + toml.string() +
                         ": max_participants"),
            std::string::npos)
      << refused;
  // At log_level warn since the reload: b's connection and refusal were not logged as info.
  EXPECT_EQ(refused.find("Z info "), std::string::npos) << refused;
  a->signal(SIGTERM);
  a->wait(std::chrono::seconds(5));
  relay.proc->signal(SIGTERM);
  EXPECT_EQ(relay.proc->wait(std::chrono::seconds(3)), 0);
  std::filesystem::remove_all(dir);
}

// The relay's log: a line per record, each with a UTC timestamp, a level and the component, in
// text by default and as one JSON object per line with --log-format json, where a member's join
// and leave are events with their fields.
TEST(RelayProcess, LogsAreTimestampedLevelledLinesAndJsonWhenAsked) {
  const auto dir = fresh_dir("log");
  {
    testing::Process text({testing::kBin + "/wzp-relay", "--listen", "127.0.0.1:0", "--state-dir",
                           (dir / "text").string(), "--metrics-listen", "off"});
    const auto first = text.read_line(std::chrono::seconds(10));
    ASSERT_TRUE(first);
    EXPECT_TRUE(std::regex_search(
        *first,
        std::regex(
            R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info  wzp-relay  listening on 127\.0\.0\.1:\d+)")))
        << *first;
  }
  testing::Relay relay(dir / "relay", {"--log-format", "json"});
  ASSERT_FALSE(relay.address.empty());
  auto a =
      client(dir, "a", relay.address, {"--room", "r", "--send-tone", "440", "--duration", "2"});
  std::vector<nlohmann::json> events;
  std::string seen;
  while (auto line = relay.proc->read_line(std::chrono::seconds(10))) {
    seen += *line + "\n";
    const auto j = nlohmann::json::parse(*line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not a JSON object: " << *line;
    EXPECT_TRUE(std::regex_match(j.value("time", ""),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << *line;
    EXPECT_EQ(j.value("component", ""), "wzp-relay") << *line;
    EXPECT_TRUE(j.value("level", "") == "info" || j.value("level", "") == "warning") << *line;
    if (j.contains("event")) events.push_back(j);
    if (j.value("event", "") == "leave") break;
  }
  a->wait(std::chrono::seconds(10));
  const auto has = [&](const std::string& e) {
    return std::any_of(events.begin(), events.end(), [&](const auto& j) {
      return j.value("event", "") == e && j.value("level", "") == "info" && j.contains("session") &&
             j.contains("room");
    });
  };
  EXPECT_TRUE(has("join")) << seen;
  EXPECT_TRUE(has("leave")) << seen;
  relay.proc->signal(SIGTERM);
  EXPECT_EQ(relay.proc->wait(std::chrono::seconds(3)), 0);

  std::filesystem::remove_all(dir);
}

// The near relay knows every address by host name (listen, metrics, remote, probe), looked up
// in an /etc/hosts of its own; before, each was refused as "not an IP address".
TEST(RelayProcess, ACallCrossesAChainOfTwoRelaysAndTheFirstProbesTheSecond) {
  if (!testing::can_use_private_hosts())
    GTEST_SKIP() << "needs unshare --mount for a private /etc/hosts";
  const auto dir = fresh_dir("chain");
  testing::Relay far(dir / "far");
  ASSERT_FALSE(far.address.empty());
  std::ofstream(dir / "hosts") << "127.0.0.1 near.test far.test\n";
  const std::string far_name = "far.test:" + far.address.substr(far.address.rfind(':') + 1);
  testing::Relay near(dir / "near", {"--remote", far_name, "--probe", far_name}, "near.test:0",
                      dir / "hosts");
  ASSERT_FALSE(near.address.empty());
  // The recorder is on the far relay, the sender reaches it through the near one.
  const std::string wav = (dir / "out.wav").string();
  auto recorder =
      client(dir, "rec", far.address, {"--room", "chain", "--record", wav, "--duration", "8"});
  recorder->read_line(std::chrono::milliseconds(1500));
  auto sender = client(dir, "snd", near.address, {"--room", "chain", "--send-tone", "5"});
  EXPECT_EQ(sender->wait(std::chrono::seconds(20)), 0);
  EXPECT_EQ(recorder->wait(std::chrono::seconds(20)), 0);
  const auto rec = client::read_wav(wav);
  const auto part = std::span(rec.mono).subspan(std::min<size_t>(rec.mono.size(), 2 * 48000),
                                                std::min<size_t>(rec.mono.size(), 2 * 48000));
  ASSERT_EQ(part.size(), 2u * 48000) << "recording too short";
  const double f = codec::dominant_frequency(part);
  std::printf("through two relays: %.1f Hz, RMS %.0f\n", f, codec::rms(part));
  EXPECT_NEAR(f, 440, 2);
  // The near relay piped one client and measured the far one; both expose valid metrics.
  const auto near_text = near.scrape(dir / "near.txt");
  EXPECT_EQ(metric(near_text, "wzp_relay_forward_pipes_total"), 1);
  EXPECT_GT(metric(near_text, "wzp_relay_forward_datagrams_total{direction=\"up\"}"), 200);
  EXPECT_EQ(metric(near_text, "wzp_relay_probe_up{peer=\"" + far_name + "\"}"), 1);
  EXPECT_GT(metric(near_text, "wzp_relay_probe_rtt_seconds{peer=\"" + far_name + "\"}"), 0);
  EXPECT_EQ(std::system(("promtool check metrics < " + (dir / "near.txt").string()).c_str()), 0);
  const auto far_text = far.scrape(dir / "far.txt");
  EXPECT_GT(metric(far_text, "wzp_relay_trunk_frames_total"), 0);
  EXPECT_GE(metric(far_text, "wzp_relay_probes_reflected_total"), 3);
  near.proc->signal(SIGTERM);
  far.proc->signal(SIGTERM);
  EXPECT_EQ(near.proc->wait(std::chrono::seconds(3)), 0);
  EXPECT_EQ(far.proc->wait(std::chrono::seconds(3)), 0);
  std::filesystem::remove_all(dir);
}

// With --redis the relay is in the cluster directory: the address it advertises, the
// certificate fingerprint it logs, the room it hosts. Redis killed for ten seconds changes
// nothing for the call in progress, the entry is back within three seconds of Redis's return,
// a member who joins then hears the call, and SIGTERM takes the entry out at once.
TEST(RelayProcess, ARelayWithRedisIsInTheDirectoryAndRidesOutARedisOutage) {
  const auto dir = fresh_dir("directory");
  testing::RedisServer redis;
  testing::Relay relay(dir / "relay",
                       {"--redis", redis.address(), "--advertise", "relay-1.test:4433"});
  ASSERT_FALSE(relay.address.empty());
  std::string cert;
  const std::regex fingerprint(R"(certificate fingerprint ([0-9a-f:]+))");
  while (auto line = relay.proc->read_line(std::chrono::seconds(5))) {
    std::smatch m;
    if (std::regex_search(*line, m, fingerprint)) cert = m[1];
    if (line->find("cluster directory: connected") != std::string::npos) break;
  }
  ASSERT_FALSE(cert.empty());
  boost::asio::io_context io;
  transport::RedisConfig rc;
  rc.address = *transport::parse_address(redis.address()).address;
  transport::RedisClient reader(io, rc);
  const auto ask = [&](std::vector<std::string> args) {
    return testing::redis_ask(io, reader, std::move(args));
  };
  const auto members = testing::redis_items;
  const auto listed = [&] { return members(ask({"ZRANGE", "wzp:relays", "0", "-1"})); };
  const auto within = [&](std::chrono::milliseconds limit, const std::function<bool()>& f) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!f() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling another process
    return f();
  };
  ASSERT_TRUE(within(std::chrono::seconds(3), [&] { return listed().size() == 1; }));
  const std::string id = listed().at(0);
  const auto hash = members(ask({"HGETALL", "wzp:relay:" + id}));
  std::map<std::string, std::string> entry;
  for (size_t i = 0; i + 1 < hash.size(); i += 2) entry[hash[i]] = hash[i + 1];
  EXPECT_EQ(entry["address"], "relay-1.test:4433");
  EXPECT_EQ(entry["fingerprint"], cert);
  // A call: the sender's tone must reach the recorder through Redis's outage.
  const std::string wav = (dir / "out.wav").string();
  auto recorder =
      client(dir, "rec", relay.address, {"--room", "cluster", "--record", wav, "--duration", "19"});
  recorder->read_line(std::chrono::milliseconds(1500));
  auto sender = client(dir, "snd", relay.address, {"--room", "cluster", "--send-tone", "17"});
  ASSERT_TRUE(within(std::chrono::seconds(4), [&] {
    const auto rooms = members(ask({"KEYS", "wzp:room:*"}));
    return rooms.size() == 1 &&
           members(ask({"ZRANGE", rooms[0], "0", "-1"})) == std::vector<std::string>{id};
  }));
  const auto outage = std::chrono::steady_clock::now();
  redis.stop();
  EXPECT_TRUE(within(std::chrono::seconds(3), [&] {
    return metric(relay.scrape(dir / "m.txt"), "wzp_relay_redis_up") == 0;
  }));
  std::this_thread::sleep_until(outage + std::chrono::seconds(10));  // the outage itself
  ASSERT_TRUE(redis.start());
  EXPECT_TRUE(within(std::chrono::milliseconds(3000), [&] { return listed().size() == 1; }));
  // Joining works once Redis is back: a newcomer hears the call.
  const std::string late_wav = (dir / "late.wav").string();
  auto late = client(dir, "late", relay.address,
                     {"--room", "cluster", "--record", late_wav, "--duration", "4"});
  EXPECT_EQ(late->wait(std::chrono::seconds(20)), 0);
  EXPECT_GT(purity(late_wav, 1.5, 3.5, {440})[0], 0.2) << "the newcomer does not hear the call";
  EXPECT_EQ(sender->wait(std::chrono::seconds(20)), 0);
  EXPECT_EQ(recorder->wait(std::chrono::seconds(20)), 0);
  // The tone all through: before, during and after the outage.
  for (double from : {2.0, 5.0, 8.0, 11.0, 14.0}) {
    const auto p = purity(wav, from, from + 1.5, {440});
    EXPECT_GT(p[0], 0.2) << "the tone is missing from " << from << " s";
  }
  const auto text = relay.scrape(dir / "m.txt");
  EXPECT_EQ(metric(text, "wzp_relay_redis_up"), 1);
  EXPECT_EQ(metric(text, "wzp_relay_redis_disconnects_total"), 1);
  EXPECT_GT(metric(text, "wzp_relay_directory_publish_failures_total"), 0);
  EXPECT_EQ(std::system(("promtool check metrics < " + (dir / "m.txt").string()).c_str()), 0);
  relay.proc->signal(SIGTERM);
  EXPECT_EQ(relay.proc->wait(std::chrono::seconds(3)), 0);
  EXPECT_TRUE(listed().empty());  // withdrawn, not left to expire
  std::filesystem::remove_all(dir);
}

// Relays sharing one real Redis, each listed in the directory before the test goes on, and a
// reader of the directory.
struct Cluster {
  testing::RedisServer redis;
  std::vector<std::unique_ptr<testing::Relay>> relays;
  boost::asio::io_context io;
  std::unique_ptr<transport::RedisClient> reader;
  // `password`: Redis asks for it (requirepass), and the relays read it from a file.
  Cluster(const std::filesystem::path& dir, int n, const std::string& password = {})
      : redis(password.empty() ? std::vector<std::string>{}
                               : std::vector<std::string>{"--requirepass", password}) {
    std::vector<std::string> args = {"--redis", redis.address()};
    if (!password.empty()) {
      std::ofstream(dir / "redis-password") << password << "\n";
      args.insert(args.end(), {"--redis-password-file", (dir / "redis-password").string()});
    }
    for (int i = 0; i < n; ++i) {
      relays.push_back(std::make_unique<testing::Relay>(dir / ("relay" + std::to_string(i)), args));
    }
    transport::RedisConfig rc;
    rc.address = *transport::parse_address(redis.address()).address;
    rc.password = password;
    reader = std::make_unique<transport::RedisClient>(io, rc);
    testing::run_until(io, [&] {
      return ask({"ZRANGE", "wzp:relays", "0", "-1"}).size() == static_cast<size_t>(n);
    });
  }
  // The address of the relay this fingerprint is registered on, per the directory ({} if none).
  std::vector<std::string> address_of(const std::string& fingerprint) {
    const auto id = ask({"GET", "wzp:presence:" + fingerprint});
    return id.size() == 1 ? ask({"HGET", "wzp:relay:" + id[0], "address"})
                          : std::vector<std::string>{};
  }
  bool started() const {
    return std::all_of(relays.begin(), relays.end(),
                       [](const auto& r) { return !r->address.empty(); });
  }
  std::vector<std::string> ask(std::vector<std::string> args) {
    return testing::redis_items(testing::redis_ask(io, *reader, std::move(args)));
  }
};

// Three relays sharing one Redis: members of one room, each on a different relay, each hear
// the other two and never themselves, while a room on one relay alone stays apart. The room
// has one home (the first relay a member reached); the other two pipe their members there.
TEST(RelayProcess, MembersOfOneRoomOnThreeRelaysHearEachOther) {
  const auto dir = fresh_dir("cluster");
  Cluster cluster(dir, 3);
  ASSERT_TRUE(cluster.started());
  auto& relays = cluster.relays;
  auto& io = cluster.io;
  const auto ask = [&](std::vector<std::string> args) { return cluster.ask(std::move(args)); };
  // Each relay is listed before the members come (it publishes as soon as Redis is up).
  ASSERT_EQ(ask({"ZRANGE", "wzp:relays", "0", "-1"}).size(), 3u);
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  const std::vector<double> freqs = {440, 660, 990, 1320};
  std::vector<std::unique_ptr<testing::Process>> procs;
  for (size_t i = 0; i < names.size(); ++i) {
    // a, b and c share "global", one on each relay; d is alone in "solo" on the second.
    procs.push_back(client(dir, names[i], relays[i % 3]->address,
                           {"--room", i < 3 ? "global" : "solo", "--send-tone", "7", "--tone-freq",
                            std::to_string(freqs[i]), "--record",
                            (dir / (names[i] + ".wav")).string(), "--duration", "8"}));
    if (i == 0) procs[0]->read_line(std::chrono::milliseconds(1500));  // a makes the home
  }
  // One home for the room, named in the directory, and all three relays listed as hosting it.
  const auto joined = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ask({"KEYS", "wzp:home:*"}).size() < 2 && std::chrono::steady_clock::now() < joined)
    io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ask({"KEYS", "wzp:home:*"}).size(), 2u);  // "global" and "solo"
  for (size_t i = 0; i < procs.size(); ++i)
    EXPECT_EQ(procs[i]->wait(std::chrono::seconds(25)), i < 3 ? 0 : 1) << names[i];
  expect_trio_apart_from_d(dir, names, freqs);
  // The first relay is the room's home; the other two each piped their member there.
  double piped = 0;
  for (size_t i = 0; i < 3; ++i) {
    const auto text = relays[i]->scrape(dir / ("m" + std::to_string(i) + ".txt"));
    const double n = metric(text, "wzp_relay_cluster_connections_total{room=\"piped\"}");
    EXPECT_EQ(n, i == 0 ? 0 : 1) << "relay " << i;
    piped += n;
    EXPECT_EQ(std::system(("promtool check metrics < " +
                           (dir / ("m" + std::to_string(i) + ".txt")).string())
                              .c_str()),
              0);
  }
  EXPECT_EQ(piped, 2);
  for (auto& r : relays) r->proc->signal(SIGTERM);
  for (auto& r : relays) EXPECT_EQ(r->proc->wait(std::chrono::seconds(3)), 0);
  std::filesystem::remove_all(dir);
}

// A direct call to a fingerprint registered on another relay of the cluster: the caller's relay
// finds it in the directory, the call rings there, and once it is answered the two talk in a
// private room hosted on the callee's relay (the caller piped there), each hearing the other.
// A fingerprint registered nowhere is refused by name; a third client who learns the room's
// name is not let in. This cluster's Redis asks for a password.
TEST(RelayProcess, ADirectCallToAFingerprintOnAnotherRelayRingsThereAndConnects) {
  const auto dir = fresh_dir("cluster-direct");
  Cluster cluster(dir, 2, "cluster-secret");
  ASSERT_TRUE(cluster.started());
  auto& relays = cluster.relays;
  auto& io = cluster.io;
  const std::string bob_fp = testing::fingerprint_of(dir / "bob.id");
  const std::string alice_fp = testing::fingerprint_of(dir / "alice.id");
  const std::string nobody_fp = testing::fingerprint_of(dir / "nobody.id");
  ASSERT_FALSE(bob_fp.empty());
  std::vector<std::string> bob_says, alice_says, carol_says, eve_says;
  auto bob = client(dir, "bob", relays[0]->address,
                    {"--auto-answer", "--send-tone", "12", "--tone-freq", "660", "--record",
                     (dir / "bob.wav").string(), "--duration", "12"});
  ASSERT_TRUE(testing::wait_for(*bob, "registered with", bob_says));
  // Bob's registration is in the directory, on the first relay.
  const auto bob_is_at = [&] { return cluster.address_of(bob_fp); };
  testing::run_until(io, [&] { return bob_is_at() == std::vector{relays[0]->address}; });
  ASSERT_EQ(bob_is_at(), std::vector{relays[0]->address});
  // Carol, on the second relay, calls a fingerprint that nobody registered.
  auto carol = client(dir, "carol", relays[1]->address, {"--call", nobody_fp, "--duration", "3"});
  EXPECT_TRUE(testing::wait_for(*carol, "is not registered here or on any relay of the cluster",
                                carol_says))
      << ::testing::PrintToString(carol_says);
  // Alice, on the second relay, calls Bob.
  auto alice = client(dir, "alice", relays[1]->address,
                      {"--call", bob_fp, "--send-tone", "6", "--record",
                       (dir / "alice.wav").string(), "--duration", "8"});
  EXPECT_TRUE(testing::wait_for(*alice, "ringing", alice_says))
      << ::testing::PrintToString(alice_says);
  EXPECT_TRUE(testing::wait_for(*bob, "incoming call from " + alice_fp, bob_says));
  EXPECT_TRUE(testing::wait_for(*alice, "call connected in room direct-", alice_says));
  ASSERT_TRUE(testing::wait_for(*bob, "call connected in room direct-", bob_says));
  const std::string room = bob_says.back().substr(bob_says.back().find("direct-"), 31);
  // Eve knows the room's name (read off a screen) and joins it on either relay: refused.
  for (size_t i = 0; i < 2; ++i) {
    auto eve = client(dir, "eve", relays[i]->address, {"--room", room, "--duration", "3"});
    EXPECT_TRUE(testing::wait_for(*eve, "not a participant of this call", eve_says,
                                  std::chrono::seconds(6)))
        << "relay " << i << ": " << ::testing::PrintToString(eve_says);
  }
  // Alice hangs up when her eight seconds are over; Bob, on the other relay, hears it.
  EXPECT_TRUE(testing::wait_for(*bob, "call ended: hung up by the other side", bob_says,
                                std::chrono::seconds(14)))
      << ::testing::PrintToString(bob_says);
  EXPECT_EQ(alice->wait(std::chrono::seconds(10)), 0);
  EXPECT_EQ(bob->wait(std::chrono::seconds(10)), 0);
  const auto [bob_heard, bob_rms] = testing::loudest_second((dir / "bob.wav").string());
  const auto [alice_heard, alice_rms] = testing::loudest_second((dir / "alice.wav").string());
  std::printf("direct call across relays: Bob heard %.1f Hz (RMS %.0f), Alice %.1f Hz (RMS %.0f)\n",
              bob_heard, bob_rms, alice_heard, alice_rms);
  EXPECT_NEAR(bob_heard, 440, 2);
  EXPECT_NEAR(alice_heard, 660, 2);
  // The call connected on both relays; the caller's relay piped Alice to Bob's.
  const auto callee_side = relays[0]->scrape(dir / "m0.txt");
  const auto caller_side = relays[1]->scrape(dir / "m1.txt");
  EXPECT_EQ(metric(callee_side, "wzp_relay_direct_calls_connected_total"), 1);
  EXPECT_EQ(metric(caller_side, "wzp_relay_direct_calls_connected_total"), 1);
  EXPECT_GE(metric(caller_side, R"(wzp_relay_cluster_connections_total{room="piped"})"), 1);
  EXPECT_GE(metric(callee_side, "wzp_relay_inbox_taken_total"), 1);
  EXPECT_GE(metric(caller_side, "wzp_relay_inbox_taken_total"), 2);  // ringing, answer
  std::filesystem::remove_all(dir);
}

// The longest stretch of `wav` between from and to (s) in which the tone at `hz` is not heard,
// in 100 ms steps: how long a listener lost a speaker.
double longest_gap(const std::string& wav, double from, double to, double hz) {
  const auto rec = client::read_wav(wav);  // once: a sanitized build reads slowly
  double gap = 0, run = 0;
  for (double t = from; t + 0.1 <= to; t += 0.1) {
    const size_t a = static_cast<size_t>(t * 48000), n = 4800;
    const bool heard =
        a + n <= rec.mono.size() && codec::tone_purity(std::span(rec.mono).subspan(a, n), hz) > 0.2;
    run = heard ? 0 : run + 0.1;
    gap = std::max(gap, run);
  }
  return gap;
}

// A registered client whose relay is killed (SIGKILL) registers on the next relay of the cluster
// on its own (--fallback-relay), within 5 s of the kill; the directory finds it there, and a
// direct call to it from a third relay rings and connects.
TEST(RelayProcess, ARegistrationMovesToAFallbackRelayWhenItsRelayIsKilledAndStillTakesCalls) {
  const auto dir = fresh_dir("cluster-register");
  Cluster cluster(dir, 3);
  ASSERT_TRUE(cluster.started());
  auto& relays = cluster.relays;
  auto& io = cluster.io;
  const std::string bob_fp = testing::fingerprint_of(dir / "bob.id");
  std::vector<std::string> bob_says, alice_says;
  auto bob = client(dir, "bob", relays[0]->address,
                    {"--auto-answer", "--fallback-relay", relays[1]->address, "--record",
                     (dir / "bob.wav").string(), "--duration", "25"});
  ASSERT_TRUE(testing::wait_for(*bob, "registered with " + relays[0]->address, bob_says));
  relays[0]->proc->signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  EXPECT_TRUE(relays[0]->proc->wait(std::chrono::seconds(2)).has_value());
  ASSERT_TRUE(testing::wait_for(*bob, "registered with " + relays[1]->address, bob_says,
                                std::chrono::seconds(8)))
      << ::testing::PrintToString(bob_says);
  const double moved_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  std::printf("registration moved to the fallback relay %.1f s after the kill\n", moved_s);
  EXPECT_LT(moved_s, 5.0);
  // The directory has Bob on the second relay (the first's entry lapsed with it).
  const auto bob_is_at = [&] { return cluster.address_of(bob_fp); };
  testing::run_until(io, [&] { return bob_is_at() == std::vector{relays[1]->address}; });
  ASSERT_EQ(bob_is_at(), std::vector{relays[1]->address});
  auto alice = client(dir, "alice", relays[2]->address,
                      {"--call", bob_fp, "--send-tone", "5", "--duration", "7"});
  EXPECT_TRUE(testing::wait_for(*alice, "call connected in room direct-", alice_says))
      << ::testing::PrintToString(alice_says);
  EXPECT_TRUE(testing::wait_for(*bob, "call connected in room direct-", bob_says));
  EXPECT_TRUE(testing::wait_for(*bob, "call ended: hung up by the other side", bob_says,
                                std::chrono::seconds(14)))
      << ::testing::PrintToString(bob_says);
  EXPECT_EQ(alice->wait(std::chrono::seconds(10)), 0);
  bob->signal(SIGTERM);
  bob->wait(std::chrono::seconds(10));
  const auto [heard, rms] = testing::loudest_second((dir / "bob.wav").string());
  std::printf("after the move, Bob heard %.1f Hz (RMS %.0f) from Alice on a third relay\n", heard,
              rms);
  EXPECT_NEAR(heard, 440, 2);
  std::filesystem::remove_all(dir);
}

// SIGKILL of the relay that is home to a room whose members sit on three relays: the member on
// it moves to another relay of the cluster on its own (--fallback-relay), the members piped to
// it are let go at once by their own relays (its directory entry lapsed) and rejoin, a new home
// is claimed, and everyone hears everyone again; no client is restarted.
TEST(RelayProcess, KillingARoomsHomeRelayMovesItsMembersAndTheRoomIsWholeAgain) {
  const auto dir = fresh_dir("failover");
  Cluster cluster(dir, 3);
  ASSERT_TRUE(cluster.started());
  auto& relays = cluster.relays;
  ASSERT_EQ(cluster.ask({"ZRANGE", "wzp:relays", "0", "-1"}).size(), 3u);
  const std::vector<std::string> names = {"a", "b", "c"};
  const std::vector<double> freqs = {440, 660, 990};
  std::vector<std::unique_ptr<testing::Process>> procs;
  for (size_t i = 0; i < 3; ++i) {
    // Each member starts after the one before and talks for less time: whoever started
    // earlier still talks through the later ones' last window, even when they were seconds
    // slow to start (a loaded machine).
    const std::string secs = std::array{"21", "19", "16"}[i];
    std::vector<std::string> args = {"--room",      "global",
                                     "--send-tone", secs,
                                     "--tone-freq", std::to_string(freqs[i]),
                                     "--record",    (dir / (names[i] + ".wav")).string(),
                                     "--duration",  secs};
    for (size_t j = 0; j < 3; ++j) {
      if (j != i) args.insert(args.end(), {"--fallback-relay", relays[j]->address});
    }
    procs.push_back(client(dir, names[i], relays[i]->address, args));
    if (i == 0) procs[0]->read_line(std::chrono::milliseconds(1500));  // a makes the home
  }
  std::this_thread::sleep_for(std::chrono::seconds(5));  // the call, before the kill
  relays[0]->proc->signal(SIGKILL);
  EXPECT_TRUE(relays[0]->proc->wait(std::chrono::seconds(2)).has_value());
  std::string moved;
  for (size_t i = 0; i < procs.size(); ++i) {
    // Its lines until it exits (bounded), and its status.
    std::optional<int> status;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
    while (!status && std::chrono::steady_clock::now() < deadline) {
      if (auto line = procs[i]->read_line(std::chrono::milliseconds(200))) {
        if (line->find("moving the call there") != std::string::npos) moved += names[i];
        continue;
      }
      status = procs[i]->poll_exit();
    }
    EXPECT_EQ(status, 0) << names[i];
  }
  EXPECT_EQ(moved, "a");  // only the member on the killed relay had to move
  // About 6.5 s into each recording the relay died; from 11 s on everyone hears everyone.
  for (size_t i = 0; i < 3; ++i) {
    const std::string wav = (dir / (names[i] + ".wav")).string();
    const auto p = purity(wav, 11, 14.5, freqs);
    for (size_t j = 0; j < 3; ++j) {
      if (j == i) {
        EXPECT_LT(p[j], 0.01) << names[i] << " hears itself";
      } else {
        EXPECT_GT(p[j], 0.2) << names[i] << " does not hear " << names[j] << " after the kill";
        const double gap = longest_gap(wav, 3, 14.5, freqs[j]);
        std::printf("%s lost %s for %.1f s around the kill\n", names[i].c_str(), names[j].c_str(),
                    gap);
        EXPECT_LT(gap, 3.0) << names[i] << " lost " << names[j];
      }
    }
  }
  for (size_t i = 1; i < 3; ++i) relays[i]->proc->signal(SIGTERM);
  for (size_t i = 1; i < 3; ++i) EXPECT_EQ(relays[i]->proc->wait(std::chrono::seconds(3)), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wzp
