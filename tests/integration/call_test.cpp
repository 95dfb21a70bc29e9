// Real processes on 127.0.0.1: wzp-relay, one wzp-client sending a 440 Hz tone, another
// recording. The recording's dominant frequency is the tone's.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

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

  const auto rec = client::read_wav(wav);
  ASSERT_EQ(rec.rate, 48000u);
  // The loudest second of the recording is the tone.
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
  EXPECT_NEAR(f, 440, 2);
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
                             (dir / "rec.id").string(), "--known-relays", (dir / "rec.pins").string()});
  std::vector<std::string> lines;
  while (auto line = recorder.read_line(std::chrono::seconds(10))) lines.push_back(*line);
  EXPECT_EQ(recorder.wait(std::chrono::seconds(5)), 1);
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("wzp-client: heard nothing: the recording is silence (0 others") != std::string::npos;
  })) << ::testing::PrintToString(lines);
  std::filesystem::remove_all(dir);
}

// Every binary says its version, and a usage error names the program, says what is wrong and
// exits with status 2 (CLI11's own codes, 104-109, before).
TEST(Cli, EveryBinarySaysItsVersionAndRefusesABadFlagWithStatus2) {
  for (const std::string name : {"wzp-relay", "wzp-client", "wzp-web", "wzp-netem", "wzp-bench"}) {
    testing::Process v({kBin + "/" + name, "--version"});
    EXPECT_EQ(v.read_line(std::chrono::seconds(5)), name + " " + WZP_VERSION);
    EXPECT_EQ(v.wait(std::chrono::seconds(5)), 0) << name;
    testing::Process bad({kBin + "/" + name, "--no-such-flag"});
    const auto line = bad.read_line(std::chrono::seconds(5));
    ASSERT_TRUE(line) << name;
    EXPECT_EQ(line->rfind(name + ": ", 0), 0u) << *line;
    EXPECT_GT(line->size(), name.size() + 10) << *line;  // and what is wrong (a flag it lacks, or this one)
    EXPECT_EQ(bad.wait(std::chrono::seconds(5)), 2) << name;
  }
}

}  // namespace
}  // namespace wzp
