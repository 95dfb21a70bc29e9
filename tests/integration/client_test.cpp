// wzp-client's signalling session as real processes on 127.0.0.1: a direct call between two
// registered clients rings, connects and hangs up; a call survives its relay being killed and
// restarted on the same port (both clients re-register and media flows again); and a client
// told to use another relay moves there with no connection left behind.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>

#include "client/wav.h"
#include "codec/audio_analysis.h"
#include "codec/vad.h"
#include "fixtures.h"

namespace wzp {
namespace {

using testing::client;
using testing::fingerprint_of;
using testing::fresh_dir;
using testing::metric;
using testing::wait_for;
using Clock = std::chrono::steady_clock;

// Where a 440 Hz tone was heard in a recording, by 20 ms frames: the longest run without it
// between its first and last appearance (the gap), how long from first to last, and how much
// of the recording followed the last, in seconds.
struct ToneGaps {
  double gap_s = 0, span_s = 0, tail_s = 0;
};
ToneGaps tone_gaps(const std::vector<int16_t>& mono) {
  std::vector<bool> tone;
  for (size_t s = 0; s + 960 <= mono.size(); s += 960) {
    tone.push_back(codec::rms(std::span(mono).subspan(s, 960)) > 1000);
  }
  const auto first = std::find(tone.begin(), tone.end(), true);
  const auto last = std::find(tone.rbegin(), tone.rend(), true).base();
  size_t run = 0, longest = 0;
  for (auto it = first; it < last; ++it) {
    run = *it ? 0 : run + 1;
    longest = std::max(longest, run);
  }
  if (first >= last) return {};
  return {static_cast<double>(longest) * 0.02, static_cast<double>(last - first) * 0.02,
          static_cast<double>(tone.end() - last) * 0.02};
}

TEST(ClientProcess, DirectCallRingsConnectsAndHangsUp) {
  const auto dir = fresh_dir("direct");
  testing::Relay relay(dir / "relay");
  ASSERT_FALSE(relay.address.empty());
  const std::string bob_fp = fingerprint_of(dir / "bob.id");
  const std::string alice_fp = fingerprint_of(dir / "alice.id");
  ASSERT_FALSE(bob_fp.empty());
  std::vector<std::string> bob_says, alice_says;
  auto bob = client(dir, "bob", relay.address,
                    {"--auto-answer", "--record", (dir / "bob.wav").string(), "--duration", "10"});
  ASSERT_TRUE(wait_for(*bob, "registered with", bob_says));
  auto alice = client(dir, "alice", relay.address,
                      {"--call", bob_fp, "--send-tone", "4", "--duration", "6"});
  EXPECT_TRUE(wait_for(*alice, "ringing", alice_says));
  EXPECT_TRUE(wait_for(*alice, "call connected in room direct-", alice_says));
  EXPECT_TRUE(wait_for(*bob, "incoming call from " + alice_fp, bob_says));
  EXPECT_TRUE(wait_for(*bob, "call connected in room direct-", bob_says));
  // Alice hangs up when her six seconds are over; Bob hears it.
  EXPECT_TRUE(
      wait_for(*bob, "call ended: hung up by the other side", bob_says, std::chrono::seconds(12)));
  EXPECT_EQ(alice->wait(std::chrono::seconds(10)), 0);
  EXPECT_EQ(bob->wait(std::chrono::seconds(10)), 0);
  const auto rec = client::read_wav((dir / "bob.wav").string());
  ASSERT_GE(rec.mono.size(), 48000u * 5);
  const auto [f, best_rms] = testing::loudest_second((dir / "bob.wav").string());
  std::printf("direct call: Bob heard %.1f Hz at RMS %.0f\n", f, best_rms);
  EXPECT_NEAR(f, 440, 2);
  const auto text = relay.scrape(dir / "m.txt");
  EXPECT_EQ(metric(text, "wzp_relay_direct_calls_connected_total"), 1);
  std::filesystem::remove_all(dir);
}

TEST(ClientProcess, ACallSurvivesItsRelayBeingKilledAndRestarted) {
  const auto dir = fresh_dir("kill");
  const std::string listen = "127.0.0.1:" + std::to_string(testing::free_udp_port());
  auto relay = std::make_unique<testing::Relay>(dir / "relay", std::vector<std::string>{}, listen);
  ASSERT_EQ(relay->address, listen);
  const std::string bob_fp = fingerprint_of(dir / "bob.id");
  std::vector<std::string> bob_says, alice_says;
  auto bob = client(dir, "bob", listen,
                    {"--auto-answer", "--record", (dir / "bob.wav").string(), "--duration", "16"});
  ASSERT_TRUE(wait_for(*bob, "registered with", bob_says));
  auto alice =
      client(dir, "alice", listen, {"--call", bob_fp, "--send-tone", "30", "--duration", "14"});
  ASSERT_TRUE(wait_for(*bob, "call connected", bob_says));
  ASSERT_TRUE(wait_for(*bob, "heard ", bob_says))
      << ::testing::PrintToString(bob_says);  // media is flowing
  // Kill the relay outright (no goodbyes) and start it again on the same port and state.
  const auto killed = Clock::now();
  relay->proc->signal(SIGKILL);
  relay->proc->wait(std::chrono::seconds(5));
  relay = std::make_unique<testing::Relay>(dir / "relay", std::vector<std::string>{}, listen);
  ASSERT_EQ(relay->address, listen) << "the relay did not come back";
  const auto back = Clock::now();
  const double down_s = std::chrono::duration<double>(back - killed).count();
  // Both clients register again on their own, and the call reconnects.
  EXPECT_TRUE(wait_for(*bob, "registered with", bob_says, std::chrono::seconds(8)));
  EXPECT_TRUE(wait_for(*alice, "registered with", alice_says, std::chrono::seconds(1)) ||
              wait_for(*alice, "registered with", alice_says, std::chrono::seconds(8)));
  EXPECT_TRUE(wait_for(*bob, "reconnects 1", bob_says, std::chrono::seconds(8)));
  EXPECT_EQ(alice->wait(std::chrono::seconds(20)), 0);
  EXPECT_EQ(bob->wait(std::chrono::seconds(20)), 0);
  // In Bob's recording: the longest stretch without the tone, between its first and last
  // appearance, is the outage as heard. It may not exceed the relay's downtime by more than 3 s.
  const auto heard = tone_gaps(client::read_wav((dir / "bob.wav").string()).mono);
  ASSERT_GT(heard.span_s, 0) << "no tone recorded";
  const double gap_s = heard.gap_s;
  const double resumed_after_s = gap_s - down_s;
  std::printf(
      "relay down %.2f s; Bob heard a %.2f s gap: media back %.2f s after the relay; "
      "tone until %.2f s before the end\n",
      down_s, gap_s, resumed_after_s, heard.tail_s);
  EXPECT_GT(gap_s, 0.5);  // there was an outage to recover from
  EXPECT_LT(resumed_after_s, 3.0);
  EXPECT_LT(heard.span_s, 15.0);
  std::filesystem::remove_all(dir);
}

// A relay named by host: the clients look the name up (here in an /etc/hosts of their own,
// bind-mounted in a mount namespace) and again at every redial, so when the relay dies and
// comes back at another address under the same name, the call finds it and goes on. Before,
// host names were refused ("'relay.test' is not an IP address").
TEST(ClientProcess, ARelayNamedByHostIsFoundAgainAtItsNewAddress) {
  if (!testing::can_use_private_hosts())
    GTEST_SKIP() << "needs unshare --mount for a private /etc/hosts";
  const auto dir = fresh_dir("hostname");
  const auto hosts = dir / "hosts";
  const auto point_at = [&](const std::string& ip) {
    std::ofstream(hosts, std::ios::trunc) << ip << " relay.test\n";  // in place: the mounts see it
  };
  point_at("127.0.0.1");
  auto relay = std::make_unique<testing::Relay>(dir / "relay");
  ASSERT_FALSE(relay->address.empty());
  const std::string port = relay->address.substr(relay->address.rfind(':') + 1);
  const auto named = [&](const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> argv = {testing::kBin + "/wzp-client",
                                     "relay.test:" + port,
                                     "--room",
                                     "moved",
                                     "--identity",
                                     (dir / (name + ".id")).string(),
                                     "--known-relays",
                                     (dir / (name + ".pins")).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<testing::Process>(testing::with_hosts(hosts, argv));
  };
  std::vector<std::string> rx_says;
  auto rx = named("rx", {"--record", (dir / "rx.wav").string(), "--duration", "16"});
  ASSERT_TRUE(wait_for(*rx, "joined room moved", rx_says)) << ::testing::PrintToString(rx_says);
  auto tx = named("tx", {"--send-tone", "15"});
  ASSERT_TRUE(wait_for(*rx, "heard ", rx_says)) << ::testing::PrintToString(rx_says);
  // The relay dies; the name now points at 127.0.0.2, where it comes back with the same state.
  relay->proc->signal(SIGKILL);
  relay->proc->wait(std::chrono::seconds(5));
  point_at("127.0.0.2");
  relay = std::make_unique<testing::Relay>(dir / "relay", std::vector<std::string>{},
                                           "127.0.0.2:" + port);
  ASSERT_EQ(relay->address, "127.0.0.2:" + port) << "the relay did not start at its new address";
  EXPECT_TRUE(wait_for(*rx, "back in the call", rx_says, std::chrono::seconds(10)))
      << ::testing::PrintToString(rx_says);
  EXPECT_EQ(tx->wait(std::chrono::seconds(25)), 0);
  EXPECT_EQ(rx->wait(std::chrono::seconds(25)), 0);
  // The tone is heard after the move: in the recording's last seconds of the sender's tone.
  const auto heard = tone_gaps(client::read_wav((dir / "rx.wav").string()).mono);
  std::printf("tone heard over %.2f s with a %.2f s gap (the relay's move)\n", heard.span_s,
              heard.gap_s);
  EXPECT_GT(heard.gap_s, 0.2);    // the move was heard as a gap
  EXPECT_GT(heard.span_s, 10.0);  // and the tone went on after it
  std::filesystem::remove_all(dir);
}

// A path that goes down for 3 s (a tunnel, a jammed cell) is not a relay that died: the call
// keeps its connection, and the tone is back within 200 ms of the path (the side handshake
// tells the two apart; before it, the client dropped the connection after 2 s of silence and
// dialled again: new keys, a new session, and the tone back only when the new handshake's
// retransmission happened to fall soon after the path returned).
TEST(ClientProcess, AThreeSecondOutageKeepsTheConnectionAndTheAudioIsBackAtOnce) {
  const auto dir = fresh_dir("outage");
  testing::Relay relay(dir / "relay");
  ASSERT_FALSE(relay.address.empty());
  const std::string path = "127.0.0.1:" + std::to_string(testing::free_udp_port());
  testing::Process netem({testing::kBin + "/wzp-netem", "--listen", path, "--upstream",
                          relay.address, "--outage", "5:3"});
  ASSERT_TRUE(netem.read_line(std::chrono::seconds(5)));
  std::vector<std::string> bob_says;
  auto bob = client(dir, "bob", path,
                    {"--room", "tunnel", "--record", (dir / "bob.wav").string(), "--duration", "11",
                     "--metrics-file", (dir / "bob.jsonl").string()});
  auto alice = client(dir, "alice", relay.address,
                      {"--room", "tunnel", "--send-tone", "10", "--duration", "11"});
  EXPECT_EQ(alice->wait(std::chrono::seconds(20)), 0);
  EXPECT_EQ(bob->wait(std::chrono::seconds(20)), 0);
  // Bob's connection went through the outage: no reconnect in his last metrics line.
  std::ifstream metrics(dir / "bob.jsonl");
  std::string line, last_line;
  while (std::getline(metrics, line)) {
    if (line.find("\"reconnects\"") != std::string::npos) last_line = line;
  }
  EXPECT_NE(last_line.find("\"reconnects\":0"), std::string::npos) << last_line;
  const double gap_s = tone_gaps(client::read_wav((dir / "bob.wav").string()).mono).gap_s;
  std::printf("a 3 s outage: Bob heard a %.2f s gap\n", gap_s);
  EXPECT_GT(gap_s, 2.9);  // the outage happened while the tone played
  EXPECT_LT(gap_s, 3.0 + 0.2);
  std::filesystem::remove_all(dir);
}

TEST(ClientProcess, SwitchingRelaysMovesTheRegistrationWithNoDuplicate) {
  const auto dir = fresh_dir("switch");
  testing::Relay a(dir / "a"), b(dir / "b");
  ASSERT_FALSE(a.address.empty());
  ASSERT_FALSE(b.address.empty());
  std::vector<std::string> says;
  std::vector<std::string> argv = {testing::kBin + "/wzp-client",
                                   a.address,
                                   "--register",
                                   "--identity",
                                   (dir / "c.id").string(),
                                   "--known-relays",
                                   (dir / "c.pins").string(),
                                   "--duration",
                                   "15"};
  testing::Process carol(argv, {}, true);
  ASSERT_TRUE(wait_for(carol, "registered with " + a.address, says));
  EXPECT_EQ(metric(a.scrape(dir / "a.txt"), "wzp_relay_sessions"), 1);
  EXPECT_EQ(metric(b.scrape(dir / "b.txt"), "wzp_relay_sessions"), 0);
  carol.write_line("relay " + b.address);
  ASSERT_TRUE(wait_for(carol, "registered with " + b.address, says));
  // The old connection is closed, not leaked; the new relay has exactly one.
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  double a_sessions = -1;
  while (Clock::now() < deadline &&
         (a_sessions = metric(a.scrape(dir / "a.txt"), "wzp_relay_sessions")) != 0) {
    carol.read_line(std::chrono::milliseconds(100));
  }
  const auto a_text = a.scrape(dir / "a.txt"), b_text = b.scrape(dir / "b.txt");
  EXPECT_EQ(a_sessions, 0);
  EXPECT_EQ(metric(b_text, "wzp_relay_sessions"), 1);
  EXPECT_EQ(metric(a_text, "wzp_relay_presence_registrations_total"), 1);
  EXPECT_EQ(metric(b_text, "wzp_relay_presence_registrations_total"), 1);
  carol.write_line("quit");
  EXPECT_EQ(carol.wait(std::chrono::seconds(5)), 0);
  std::filesystem::remove_all(dir);
}

// Every line the process prints until it exits (bounded), and its exit status.
std::pair<std::vector<std::string>, std::optional<int>> run_all(testing::Process& p,
                                                                std::chrono::seconds limit) {
  std::vector<std::string> lines;
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    auto line = p.read_line(std::chrono::milliseconds(500));
    if (line) {
      lines.push_back(*line);
      continue;
    }
    if (auto rc = p.poll_exit()) return {lines, rc};  // output ended and so did the process
  }
  return {lines, p.wait(std::chrono::seconds(1))};
}

bool any_line(const std::vector<std::string>& lines, const std::string& what) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(what) != std::string::npos; });
}

TEST(ClientProcess, EchoTestMeasuresThePathAndWritesMetricsLines) {
  const auto dir = fresh_dir("echo");
  testing::Relay relay(dir / "relay");
  ASSERT_FALSE(relay.address.empty());
  const auto metrics = dir / "m.jsonl";
  auto p =
      client(dir, "e", relay.address, {"--echo-test", "5", "--metrics-file", metrics.string()});
  const auto [lines, rc] = run_all(*p, std::chrono::seconds(20));
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(any_line(lines, "echo window  1: 660 Hz ->  660."))
      << ::testing::PrintToString(lines);
  EXPECT_TRUE(any_line(lines, "echo window  2: 880 Hz ->  880."))
      << ::testing::PrintToString(lines);
  // A verdict is printed. (Known since the jitter-buffer redesign: from the third window the
  // echo room's playout delay grows by three frames and the SNR of later windows drops, so the
  // verdict can read POOR on a clean path; tracked in the hostile-network issue.)
  EXPECT_TRUE(any_line(lines, "echo test verdict: ")) << ::testing::PrintToString(lines);
  std::ifstream in(metrics);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"event\":") != std::string::npos) continue;  // capture/playout marks
    ++n;
    for (const char* key :
         {"\"loss_percent\":", "\"rtt_ms\":", "\"jitter_ms\":", "\"tier\":", "\"buffer_delay_ms\":",
          "\"concealment_percent\":", "\"bitrate_kbps\":", "\"codec\":\"opus24k\"",
          "\"repairs_per_frame\":", "\"path_budget_kbps\":"}) {
      EXPECT_NE(line.find(key), std::string::npos) << key << " missing in " << line;
    }
  }
  EXPECT_GE(n, 4);  // one a second
  std::filesystem::remove_all(dir);
}

TEST(ClientProcess, DriftTestMeasuresAFastSenderAndTheBufferAbsorbsIt) {
  const auto dir = fresh_dir("drift");
  testing::Relay relay(dir / "relay");
  ASSERT_FALSE(relay.address.empty());
  auto rx = client(dir, "rx", relay.address, {"--room", "drift", "--drift-test", "15"});
  std::vector<std::string> seen;
  ASSERT_TRUE(wait_for(*rx, "joined room", seen));
  auto tx = client(dir, "tx", relay.address,
                   {"--room", "drift", "--send-tone", "16", "--clock-skew-ppm", "5000"});
  const auto [lines, rc] = run_all(*rx, std::chrono::seconds(30));
  EXPECT_EQ(rc, 0);
  double ppm = 0;
  for (const auto& l : lines) {
    if (auto at = l.find("clock runs "); at != std::string::npos)
      ppm = std::stod(l.substr(at + 11));
  }
  std::printf("sender 5000 ppm fast: measured %+.0f ppm\n", ppm);
  EXPECT_NEAR(ppm, 5000, 1000);
  EXPECT_TRUE(any_line(lines, "drift test verdict: ABSORBED")) << ::testing::PrintToString(lines);
  tx->wait(std::chrono::seconds(10));
  std::filesystem::remove_all(dir);
}

TEST(ClientProcess, SweepWritesATableAndAChart) {
  const auto dir = fresh_dir("sweep");
  testing::Process p(
      {testing::kBin + "/wzp-client", "--sweep", "--sweep-out", (dir / "s.svg").string()});
  const auto [lines, rc] = run_all(p, std::chrono::seconds(60));
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(any_line(lines, "fixed 20 ms"));
  EXPECT_TRUE(any_line(lines, "adaptive"));
  EXPECT_GT(std::filesystem::file_size(dir / "s.svg"), 500u);
  std::filesystem::remove_all(dir);
}

// No sound card here: a one-line reason and a non-zero exit. (With one, it runs a second.)
// A registered client whose relay comes back with another certificate (a reinstall, or
// someone in the middle) stops with the pin's message at once: before, it first showed a TLS
// error and a round of reconnects, as if the relay were merely away.
TEST(ClientProcess, AChangedRelayCertificateWhileRegisteredIsSaidAtOnce) {
  const auto dir = fresh_dir("repin");
  const std::string listen = "127.0.0.1:" + std::to_string(testing::free_udp_port());
  auto relay = std::make_unique<testing::Relay>(dir / "relay1", std::vector<std::string>{}, listen);
  ASSERT_EQ(relay->address, listen);
  std::vector<std::string> says;
  auto c = client(dir, "c", listen, {"--register", "--duration", "20"});
  ASSERT_TRUE(wait_for(*c, "registered with", says));
  relay->proc->signal(SIGKILL);
  relay->proc->wait(std::chrono::seconds(5));
  relay = std::make_unique<testing::Relay>(dir / "relay2", std::vector<std::string>{},
                                           listen);  // a new certificate
  ASSERT_EQ(relay->address, listen);
  const auto [lines, rc] = run_all(*c, std::chrono::seconds(15));
  EXPECT_EQ(rc, 1);
  EXPECT_TRUE(any_line(lines, "wzp-client: the certificate of " + listen + " changed"))
      << ::testing::PrintToString(lines);
  EXPECT_FALSE(any_line(lines, "Certificate is bad")) << ::testing::PrintToString(lines);
  EXPECT_FALSE(any_line(lines, "attempt 2")) << ::testing::PrintToString(lines);
  std::filesystem::remove_all(dir);
}

TEST(ClientProcess, LiveAudioWithoutADeviceIsAClearError) {
  const auto dir = fresh_dir("live");
  testing::Relay relay(dir / "relay");
  auto p = client(dir, "l", relay.address, {"--live", "--duration", "1"});
  const auto [lines, rc] = run_all(*p, std::chrono::seconds(15));
  ASSERT_TRUE(rc.has_value());
  if (*rc != 0) {
    EXPECT_TRUE(any_line(lines, "wzp-client: --live: ")) << ::testing::PrintToString(lines);
  }
  // Not the ~60 lines ALSA and JACK print while PortAudio looks for devices.
  EXPECT_FALSE(any_line(lines, "ALSA lib")) << ::testing::PrintToString(lines);
  EXPECT_FALSE(any_line(lines, "jack")) << ::testing::PrintToString(lines);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wzp
