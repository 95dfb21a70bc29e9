// Real processes on 127.0.0.1: wzp-relay, one wzp-client sending a 440 Hz tone, another
// recording. The recording's dominant frequency is the tone's.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "client/wav.h"
#include "codec/audio_analysis.h"
#include "codec/vad.h"
#include "fixtures.h"

namespace wzp {
namespace {

using testing::fresh_dir;
using testing::kBin;

struct Relay : testing::Relay {
  explicit Relay(const std::filesystem::path& d) : testing::Relay(d / "relay") {}
};

// The loudest second of the recording is a tone at `hz` (within 2 Hz).
void expect_tone(const std::string& wav, double hz) {
  const auto rec = client::read_wav(wav);
  ASSERT_EQ(rec.rate, 48000u);
  size_t best = 0;
  double best_rms = 0;
  for (size_t s = 0; s + 48000 <= rec.mono.size(); s += 4800) {
    const double r = codec::rms(std::span(rec.mono).subspan(s, 48000));
    if (r > best_rms) best_rms = r, best = s;
  }
  ASSERT_GT(best_rms, 1000) << "nothing audible was recorded";
  const double f = codec::dominant_frequency(std::span(rec.mono).subspan(best, 48000));
  std::printf("recorded %.1f s, loudest second at %.1f s: %.1f Hz, RMS %.0f\n",
              rec.mono.size() / 48000.0, best / 48000.0, f, best_rms);
  EXPECT_NEAR(f, hz, 2);
}

TEST(Call, ToneSentThroughARelayIsRecordedAt440Hz) {
  const auto dir = fresh_dir("tone");
  Relay relay(dir);
  ASSERT_FALSE(relay.address.empty()) << "the relay did not start";
  const std::string wav = (dir / "out.wav").string();
  testing::Process recorder({kBin + "/wzp-client", relay.address, "--room", "it", "--record", wav,
                             "--duration", "8", "--identity", (dir / "rec.id").string(),
                             "--known-relays", (dir / "rec.pins").string()});
  // The recorder joins first; the sender follows with five seconds of tone.
  recorder.read_line(std::chrono::milliseconds(1500));
  testing::Process sender({kBin + "/wzp-client", relay.address, "--room", "it", "--send-tone", "5",
                           "--identity", (dir / "snd.id").string(), "--known-relays",
                           (dir / "snd.pins").string()});
  EXPECT_EQ(sender.wait(std::chrono::seconds(20)), 0);
  EXPECT_EQ(recorder.wait(std::chrono::seconds(20)), 0);
  // The relay's metrics pass promtool and count what happened.
  const std::string prom = (dir / "metrics.txt").string();
  ASSERT_EQ(std::system(("curl -sf http://" + relay.metrics + "/metrics > " + prom).c_str()), 0);
  EXPECT_EQ(std::system(("promtool check metrics < " + prom).c_str()), 0);
  std::ifstream mf(prom);
  const std::string text((std::istreambuf_iterator<char>(mf)), {});
  EXPECT_NE(text.find("wzp_relay_datagrams_sent_total"), std::string::npos);
  EXPECT_NE(text.find("wzp_relay_handshakes_total{result=\"ok\"} 2"), std::string::npos);
  relay.proc->signal(SIGTERM);
  EXPECT_EQ(relay.proc->wait(std::chrono::seconds(3)), 0);  // exits promptly on SIGTERM

  expect_tone(wav, 440);
  std::filesystem::remove_all(dir);
}

// The README's "A call you can measure", its two commands exactly as written (only the relay's
// address and the build's bin folder are this test's), each in its own shell as in two
// terminals, with one HOME: both clients share ~/.wzp/identity, as a reader's would.
TEST(Call, TheReadmesTwoTerminalCallRecordsTheTone) {
  const auto dir = fresh_dir("readme");
  Relay relay(dir);
  ASSERT_FALSE(relay.address.empty()) << "the relay did not start";
  std::ifstream in(std::string(WZP_SOURCE_DIR) + "/README.md");
  const std::string readme((std::istreambuf_iterator<char>(in)), {});
  const auto section = readme.find("## A call you can measure");
  ASSERT_NE(section, std::string::npos);
  const auto start = readme.find("```sh\n", section) + 6;
  const auto end = readme.find("```", start);
  std::vector<std::string> commands;
  std::istringstream block(readme.substr(start, end - start));
  for (std::string line; std::getline(block, line);) {
    if (line.empty()) continue;
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"build/bin", kBin},
                                   {"127.0.0.1:4433", relay.address}}) {
      if (auto at = line.find(from); at != std::string::npos) line.replace(at, from.size(), to);
    }
    commands.push_back("cd " + dir.string() + " && exec " + line);
  }
  ASSERT_EQ(commands.size(), 2u) << "the README's call is a recorder and a sender";
  const std::vector<std::string> env = {"HOME=" + dir.string()};
  // The recorder first (its first run also creates the identity both will use).
  testing::Process recorder({"/bin/sh", "-c", commands[0]}, env);
  std::vector<std::string> lines;
  while (auto line = recorder.read_line(std::chrono::seconds(10))) {
    lines.push_back(*line);
    if (line->find("joined room") != std::string::npos) break;
  }
  testing::Process sender({"/bin/sh", "-c", commands[1]}, env);
  EXPECT_EQ(sender.wait(std::chrono::seconds(20)), 0);
  while (auto line = recorder.read_line(std::chrono::seconds(15))) lines.push_back(*line);
  EXPECT_EQ(recorder.wait(std::chrono::seconds(5)), 0) << ::testing::PrintToString(lines);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("(another session of our own identity)") != std::string::npos;
  })) << ::testing::PrintToString(lines);
  expect_tone((dir / "out.wav").string(), 440);
  std::filesystem::remove_all(dir);
}

TEST(Call, UnreachableRelayIsAOneLineErrorAndNonZeroExit) {
  const auto dir = fresh_dir("unreach");
  testing::Process c({kBin + "/wzp-client", "127.0.0.1:9", "--send-tone", "1", "--identity",
                      (dir / "id").string(), "--known-relays", (dir / "pins").string()});
  const auto rc = c.wait(std::chrono::seconds(20));
  ASSERT_TRUE(rc.has_value());
  EXPECT_NE(*rc, 0);
  std::filesystem::remove_all(dir);
}

// A recorder that heard nothing says so and exits non-zero: a silent file is not a result (the
// README's two-terminal call once "succeeded" with a recording of zeros).
TEST(Call, ARecorderThatHeardNothingSaysSoAndFails) {
  const auto dir = fresh_dir("nothing");
  Relay relay(dir);
  ASSERT_FALSE(relay.address.empty()) << "the relay did not start";
  testing::Process recorder({kBin + "/wzp-client", relay.address, "--room", "empty", "--record",
                             (dir / "out.wav").string(), "--duration", "2", "--identity",
                             (dir / "rec.id").string(), "--known-relays",
                             (dir / "rec.pins").string()});
  std::vector<std::string> lines;
  while (auto line = recorder.read_line(std::chrono::seconds(10))) lines.push_back(*line);
  EXPECT_EQ(recorder.wait(std::chrono::seconds(5)), 1);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("wzp-client: heard nothing: the recording is silence (0 others") !=
           std::string::npos;
  })) << ::testing::PrintToString(lines);
  std::filesystem::remove_all(dir);
}

// Every binary says its version, and a usage error names the program, says what is wrong and
// exits with status 2 (CLI11's own codes, 104-109, before).
TEST(Cli, EveryBinarySaysItsVersionAndRefusesABadFlagWithStatus2) {
  std::vector<std::string> names = {"wzp-relay", "wzp-client", "wzp-web", "wzp-netem"};
#ifdef WZP_HAS_BENCH
  names.push_back("wzp-bench");  // (not in the sanitizer build, which runs no benchmark)
#endif
  for (const std::string& name : names) {
    testing::Process v({kBin + "/" + name, "--version"});
    EXPECT_EQ(v.read_line(std::chrono::seconds(5)), name + " " + WZP_VERSION);
    EXPECT_EQ(v.wait(std::chrono::seconds(5)), 0) << name;
    testing::Process bad({kBin + "/" + name, "--no-such-flag"});
    const auto line = bad.read_line(std::chrono::seconds(5));
    ASSERT_TRUE(line) << name;
    EXPECT_EQ(line->rfind(name + ": ", 0), 0u) << *line;
    EXPECT_GT(line->size(), name.size() + 10)
        << *line;  // and what is wrong (a flag it lacks, or this one)
    EXPECT_EQ(bad.wait(std::chrono::seconds(5)), 2) << name;
  }
}

// Each mistake gets one line that names the thing at fault (the flag, the file and the OS's
// reason, the socket) and a non-zero status; none is silently accepted.
TEST(Cli, MistakesAreRefusedWithALineNamingTheThingAtFault) {
  const auto dir = fresh_dir("mistakes");
  const std::vector<std::string> client = {kBin + "/wzp-client", "127.0.0.1:9",
                                           "--identity",         (dir / "id").string(),
                                           "--known-relays",     (dir / "pins").string()};
  struct Case {
    std::vector<std::string> args;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--send-tone", "-5"}, 2, "--send-tone: must be a number of seconds above 0, not '-5'"},
      {{"--duration", "0"}, 2, "--duration: must be a number of seconds above 0"},
      {{"--record", "out.mp3"}, 2, "--record: must end in .wav or .raw"},
      {{"--record", (dir / "no/such/dir/out.wav").string()},
       2,
       "out.wav: No such file or directory"},
      {{"--send-file", (dir / "missing.wav").string()},
       2,
       "missing.wav: No such file or directory"},
      {{}, 2, "what should the call do?"},
  };
  for (const auto& c : cases) {
    auto argv = client;
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    testing::Process p(argv);
    std::string out;
    while (auto line = p.read_line(std::chrono::seconds(5))) out += *line + "\n";
    EXPECT_EQ(p.wait(std::chrono::seconds(5)), c.status) << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << ::testing::PrintToString(c.args) << "\n"
                                                   << out;
  }
  // A socket that is taken: the relay and the bridge say which one.
  boost::asio::io_context io;
  boost::asio::ip::udp::socket udp(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  boost::asio::ip::tcp::acceptor tcp(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const std::string udp_at = "127.0.0.1:" + std::to_string(udp.local_endpoint().port());
  const std::string tcp_port = std::to_string(tcp.local_endpoint().port());
  const std::vector<Case> busy = {
      {{kBin + "/wzp-relay", "--listen", udp_at, "--state-dir", (dir / "r").string()},
       1,
       "wzp-relay: cannot listen on UDP " + udp_at + " (--listen): Address already in use"},
      {{kBin + "/wzp-relay", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:" + tcp_port,
        "--state-dir", (dir / "r").string()},
       1,
       "wzp-relay: cannot listen on TCP 127.0.0.1:" + tcp_port +
           " (--metrics-listen): Address already in use"},
      {{kBin + "/wzp-relay", "--redis", "redis-host", "--state-dir", (dir / "r").string()},
       2,
       "wzp-relay: redis 'redis-host' has no :PORT"},
      {{kBin + "/wzp-relay", "--redis", "127.0.0.1:6379", "--remote", "127.0.0.1:9", "--state-dir",
        (dir / "r").string()},
       2,
       "wzp-relay: redis: a relay in forward mode hosts no rooms"},
      {{kBin + "/wzp-relay", "--redis", "127.0.0.1:6379", "--redis-password-file",
        (dir / "no-such-file").string(), "--state-dir", (dir / "r").string()},
       2,
       "wzp-relay: redis-password-file " + (dir / "no-such-file").string() +
           ": cannot read a password from its first line"},
      {{kBin + "/wzp-relay", "--redis-user", "relay", "--state-dir", (dir / "r").string()},
       2,
       "wzp-relay: redis-user and redis-password-file need --redis"},
      {{kBin + "/wzp-web", "--port", tcp_port, "--relay", "127.0.0.1:9"},
       1,
       "wzp-web: cannot listen on TCP 127.0.0.1:" + tcp_port +
           " (--host, --port): Address already in use"},
  };
  for (const auto& c : busy) {
    testing::Process p(c.args);
    std::string out;
    while (auto line = p.read_line(std::chrono::seconds(5))) out += *line + "\n";
    EXPECT_EQ(p.wait(std::chrono::seconds(5)), c.status) << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << out;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wzp
