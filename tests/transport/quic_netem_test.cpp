// QUIC through the impairment proxy on 127.0.0.1: media datagrams and signalling at 0 % and
// 20 % loss; and media resuming after a NAT rebinding and after a client migration.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "proto/room_name.h"
#include "support/run_until.h"
#include "transport/datagram_pacer.h"
#include "transport/netem_proxy.h"
#include "transport/quic.h"

namespace wzp::transport {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;

struct ServerSide : QuicEvents {
  uint64_t datagrams = 0;
  std::string stream;
  std::vector<Clock::time_point> arrivals;
  std::vector<uint32_t> ids;  // each datagram's first four bytes, where the test numbers them
  bool echo = false;
  QuicConnection* last = nullptr;  // the connection of the last datagram
  size_t probe_bytes = 0;          // a probe train of these to each client once established
  QuicConnection* probed = nullptr;
  int narrowed = 0;
  // With this set, the first thing the client says on the stream is answered as a relay answers
  // a join: a probe train, then this on the stream (and no train at establishment).
  std::string answer;
  void on_established(QuicConnection& c) override {
    if (probe_bytes && answer.empty()) probed = &c, c.send_probe_train(0x7f, probe_bytes);
  }
  void on_narrow_path(QuicConnection&) override { ++narrowed; }
  void on_datagram(QuicConnection& c, std::span<const uint8_t> d) override {
    ++datagrams;
    last = &c;
    arrivals.push_back(Clock::now());
    uint32_t id = 0;
    std::memcpy(&id, d.data(), std::min<size_t>(4, d.size()));
    ids.push_back(id);
    if (echo) c.send_datagram(d);
  }
  void on_stream(QuicConnection& c, std::span<const uint8_t> d) override {
    if (stream.empty() && !answer.empty()) {
      probed = &c;
      c.send_probe_train(0x7f, probe_bytes);
      c.send_stream({reinterpret_cast<const uint8_t*>(answer.data()), answer.size()});
    }
    stream.append(reinterpret_cast<const char*>(d.data()), d.size());
  }
};

struct ClientSide : QuicEvents {
  bool up = false;
  std::string closed;
  uint64_t datagrams = 0;
  std::optional<uint64_t> datagrams_before_stream;  // how many had come when the stream began
  void on_established(QuicConnection&) override { up = true; }
  void on_closed(QuicConnection&, const std::string& r) override { closed = r; }
  void on_datagram(QuicConnection&, std::span<const uint8_t>) override { ++datagrams; }
  void on_stream(QuicConnection&, std::span<const uint8_t>) override {
    if (!datagrams_before_stream) datagrams_before_stream = datagrams;
  }
};

const TlsCertificate& cert() {
  static const TlsCertificate c = generate_certificate("wzp-relay");
  return c;
}

bool run_until(asio::io_context& io, const std::function<bool()>& done, int ms) {
  return testing::run_until(io, done, ms, 5);
}

struct Path {
  asio::io_context io;
  ServerSide server_side;
  ClientSide client_side;
  QuicServer server{io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0), cert(), server_side};
  std::unique_ptr<NetemProxy> proxy;
  std::unique_ptr<QuicClient> client;
  explicit Path(NetemConfig cfg) {
    cfg.listen = udp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
    cfg.upstream = server.local_endpoint();
    proxy = std::make_unique<NetemProxy>(io, cfg);
    proxy->start();
    client = std::make_unique<QuicClient>(
        io, proxy->local_endpoint(), proto::room_sni("test"),
        [](const std::string&) { return true; }, client_side);
  }
  // A datagram of `bytes` every 20 ms until `until`, numbered in its first 4 bytes (the server
  // side records the numbers); when each was sent.
  std::vector<Clock::time_point> send_numbered(size_t bytes, Clock::time_point until) {
    std::vector<Clock::time_point> sent_at;
    while (Clock::now() < until) {
      std::vector<uint8_t> d(bytes, 1);
      const auto i = static_cast<uint32_t>(sent_at.size());
      std::memcpy(d.data(), &i, 4);
      sent_at.push_back(Clock::now());
      client->connection().send_datagram(d);
      io.run_for(std::chrono::milliseconds(20));
    }
    return sent_at;
  }
};

// 10 000 datagrams at a media pace plus 300 signalling messages, through the proxy.
void exchange(double loss) {
  NetemConfig cfg;
  cfg.to_upstream.loss = loss;
  cfg.to_client.loss = loss;
  cfg.to_upstream.seed = 5;
  Path s(cfg);
  ASSERT_TRUE(run_until(
      s.io, [&] { return s.client_side.up; }, 10000))
      << s.client_side.closed;
  std::string expected;
  for (int i = 0; i < 300; ++i) {
    const std::string m = "signal " + std::to_string(i) + "\n";
    expected += m;
    s.client->connection().send_stream({reinterpret_cast<const uint8_t*>(m.data()), m.size()});
  }
  const uint64_t before = s.proxy->stats().to_upstream.received;
  for (uint32_t i = 0; i < 10000; ++i) {
    std::vector<uint8_t> d(120, 0x42);
    std::memcpy(d.data(), &i, 4);
    s.client->connection().send_datagram(d);
    if (i % 5 == 4) s.io.run_for(std::chrono::milliseconds(1));  // about 5 datagrams per ms
  }
  run_until(
      s.io, [&] { return s.server_side.stream.size() == expected.size(); }, 10000);
  s.io.run_for(std::chrono::milliseconds(300));
  const auto st = s.proxy->stats();
  // Sent in QUIC packets, or beside them while the congestion window was full (bare_datagram.h:
  // under a sanitizer's slowness that happens here; the server counts both as received).
  const auto cs = s.client->connection().stats();
  const double offered = static_cast<double>(cs.datagrams_sent + cs.bare_sent);
  std::printf("loss %.0f %%: %lu of %.0f datagrams arrived (%.2f %%); proxy saw %lu packets up\n",
              loss * 100, s.server_side.datagrams, offered,
              100.0 * s.server_side.datagrams / offered, st.to_upstream.received - before);
  EXPECT_GE(offered, 9900);  // pacing keeps the sender from dropping its own media
  // Each datagram rides its own packet: it arrives with probability 1 - loss. Five sigma, plus
  // 1.5 % for what the kernel's socket buffers drop in bursts on this 2-core machine (seen at
  // no loss: 0.2 % in a release build, 0.7-0.85 % under AddressSanitizer on a slow day).
  const double sigma = std::sqrt(offered * loss * (1 - loss));
  EXPECT_NEAR(static_cast<double>(s.server_side.datagrams), offered * (1 - loss),
              5 * sigma + 0.015 * offered);
  // Signalling is complete and in order despite the loss.
  EXPECT_EQ(s.server_side.stream, expected);
}

TEST(QuicNetem, TenThousandDatagramsAndSignallingAtZeroLoss) { exchange(0.0); }
TEST(QuicNetem, TenThousandDatagramsAndSignallingAtTwentyPercentLoss) { exchange(0.2); }

// Media every 20 ms; `change` happens at 1 s; returns the longest gap in arrivals after it.
double longest_gap_after_change(Path& s, const std::function<void()>& change) {
  run_until(
      s.io, [&] { return s.client_side.up; }, 10000);
  const auto start = Clock::now();
  bool changed = false;
  Clock::time_point changed_at;
  for (uint32_t i = 0; Clock::now() - start < std::chrono::seconds(3); ++i) {
    std::vector<uint8_t> d(100, 1);
    s.client->connection().send_datagram(d);
    s.io.run_for(std::chrono::milliseconds(20));
    if (!changed && Clock::now() - start > std::chrono::seconds(1)) {
      changed = true;
      changed_at = Clock::now();
      if (change) change();
    }
  }
  double gap = 0;
  Clock::time_point prev = changed_at;
  for (auto t : s.server_side.arrivals) {
    if (t < changed_at) continue;
    gap = std::max(gap, std::chrono::duration<double>(t - prev).count());
    prev = t;
  }
  EXPECT_FALSE(s.server_side.arrivals.empty());
  EXPECT_GT(s.server_side.arrivals.back(), changed_at + std::chrono::milliseconds(1500));
  return gap;
}

TEST(QuicNetem, MediaResumesWithinASecondOfANatRebinding) {
  // The proxy changes the source port the server sees at 1.2 s (the handshake takes a few ms).
  NetemConfig rebind;
  rebind.rebind_at_ms = {1200};
  Path r(rebind);
  const double g = longest_gap_after_change(r, {});
  std::printf("NAT rebinding: longest gap in media %.0f ms; rebinds %lu\n", g * 1000,
              r.proxy->stats().rebinds);
  EXPECT_EQ(r.proxy->stats().rebinds, 1u);
  EXPECT_LT(g, 1.0);
}

TEST(QuicNetem, MediaResumesWithinASecondOfAClientMigration) {
  NetemConfig cfg;
  Path s(cfg);
  const auto before = s.client->local_endpoint();
  const double g = longest_gap_after_change(s, [&] { s.client->migrate(); });
  std::printf("client migration %u -> %u: longest gap in media %.0f ms\n", before.port(),
              s.client->local_endpoint().port(), g * 1000);
  EXPECT_NE(before.port(), s.client->local_endpoint().port());
  EXPECT_LT(g, 1.0);
  EXPECT_TRUE(s.client_side.closed.empty()) << s.client_side.closed;
}

// A 2 s outage at 400 kbit/s fills the congestion window with media. Packets of DATAGRAM
// frames alone arm no probe timeout in ngtcp2, so before the heartbeats (QuicConnection::flush)
// nothing was ever declared lost, the window never reopened, and the connection stayed mute
// after the path was back (until the idle timeout). Now media is back within a second of the
// path, and what waited behind the window longer than max_datagram_wait_ms is dropped, not sent
// ahead of fresh media.
TEST(QuicNetem, AnOutageFullOfMediaNeitherStallsTheConnectionNorSendsStaleMedia) {
  NetemConfig cfg;
  cfg.to_upstream.outages = {{1000, 2000}};
  cfg.to_client.outages = {{1000, 2000}};
  const auto path_back = Clock::now() + std::chrono::milliseconds(3000);  // the proxy starts next
  Path s(cfg);
  ASSERT_TRUE(run_until(
      s.io, [&] { return s.client_side.up; }, 10000));
  const auto sent_at = s.send_numbered(1000, path_back + std::chrono::seconds(3));
  s.io.run_for(std::chrono::milliseconds(200));
  ASSERT_EQ(s.server_side.arrivals.size(), s.server_side.ids.size());
  double oldest_ms = 0, back_s = -1;
  for (size_t k = 0; k < s.server_side.ids.size(); ++k) {
    const auto at = s.server_side.arrivals[k];
    oldest_ms = std::max(
        oldest_ms,
        std::chrono::duration<double, std::milli>(at - sent_at.at(s.server_side.ids[k])).count());
    if (back_s < 0 && at > path_back)
      back_s = std::chrono::duration<double>(at - path_back).count();
  }
  const auto st = s.client->connection().stats();
  std::printf(
      "2 s outage: %zu of %zu datagrams arrived; media back %.2f s after the path; oldest "
      "arrival %.0f ms after it was sent; %lu expired in the queue; %lu heartbeats\n",
      s.server_side.ids.size(), sent_at.size(), back_s, oldest_ms, st.datagrams_expired,
      st.heartbeats);
  EXPECT_GE(back_s, 0) << "the connection stayed mute after the outage";
  EXPECT_LT(back_s, 1.0);
  // The window did hold media back: what it held went beside it into the outage (bare) or
  // expired waiting.
  EXPECT_GT(st.datagrams_expired + st.bare_sent, 0u);
  EXPECT_LT(oldest_ms, 400);  // and none of it went out late
}

// 80 % loss each way from the proxy's second second on (the handshake goes first, clean), for
// 15 s; the ways' seeds `seed` and `seed + 1`.
NetemConfig eighty_percent_after_a_clean_second(uint64_t seed) {
  NetemConfig cfg;
  for (auto* dir : {&cfg.to_upstream, &cfg.to_client}) {
    dir->loss_steps.assign(16, 0.8);
    dir->loss_steps[0] = 0;
    dir->step_ms = 1000;
  }
  cfg.to_upstream.seed = seed;
  cfg.to_client.seed = seed + 1;
  return cfg;
}

// The relay's probe train at a member's join, through 24 kbit/s with 10 % loss each way (the
// benchmark's capped profile), over real QUIC: a train that loss leaves without a verdict is
// sent again, and a last acknowledgement that never comes is not waited for, so the joins'
// paths are measured before media would fill their queues. With one train only, the first
// trains of seeds 1, 4, 5 and 7 of these eight measured nothing (a sixth of trains, as the
// pacer's unit test finds); a train of seeds 1 and 5 waited 5 s for a lost acknowledgement.
TEST(QuicNetem, JoinsThroughANarrowLossyPathMeasureIt) {
  int measured = 0, again = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    NetemConfig cfg;
    for (auto* d : {&cfg.to_upstream, &cfg.to_client}) d->rate_kbps = 24, d->loss = 0.1;
    cfg.to_upstream.seed = seed, cfg.to_client.seed = seed + 100;
    Path s(cfg);
    s.server_side.probe_bytes = 669;
    const bool narrowed = run_until(
        s.io, [&] { return s.server_side.narrowed > 0; }, 10000);
    if (!s.server_side.probed) {
      ADD_FAILURE() << "seed " << seed << ": no connection";
      continue;
    }
    const auto st = s.server_side.probed->stats();
    std::printf("seed %lu: %s %.1f kbit/s after %lu train(s)\n", seed,
                narrowed ? "measured" : "NOT measured", st.pacer.capacity_kbps, st.probe_trains);
    if (narrowed) {
      ++measured;
      EXPECT_NEAR(st.pacer.capacity_kbps, 24, 3) << "seed " << seed;
    }
    again += st.probe_trains > 1;
  }
  // Three trains each measure about five times in six (jitter from a loaded machine included):
  // one join in eight left unmeasured is the bound a busy CI machine needs.
  EXPECT_GE(measured, 7);
  EXPECT_GT(again, 0);  // the loss took some train in eight
}

// What is queued with a probe train (the relay's answer to a join) follows the train down the
// link instead of going ahead of it as signalling otherwise does: the train leaves first and
// together, and a member told it has joined has had its path measured. Before, the answer
// arrived ahead of every probe and the member's peers learnt its capacity a second later.
TEST(QuicNetem, WhatIsQueuedWithAProbeTrainFollowsIt) {
  NetemConfig cfg;
  for (auto* d : {&cfg.to_upstream, &cfg.to_client}) d->rate_kbps = 24;
  Path s(cfg);
  s.server_side.probe_bytes = 669;
  s.server_side.answer = "answer";
  ASSERT_TRUE(run_until(
      s.io, [&] { return s.client_side.up; }, 10000))
      << s.client_side.closed;
  const std::string offer = "join";
  s.client->connection().send_stream(
      {reinterpret_cast<const uint8_t*>(offer.data()), offer.size()});
  ASSERT_TRUE(run_until(
      s.io, [&] { return s.client_side.datagrams_before_stream.has_value(); }, 10000));
  EXPECT_EQ(*s.client_side.datagrams_before_stream, DatagramPacer::kProbes);
  EXPECT_TRUE(run_until(
      s.io, [&] { return s.server_side.narrowed > 0; }, 5000));
}

// 80 % loss both ways: a packet and its acknowledgement both arrive 4 % of the time, so the
// congestion window fills with packets that are never acknowledged nor declared lost and only
// probe timeouts, backing off, move it. Media that waited for it stopped within a second or two
// (a relay's 80 % leg forwarded 15 of 600); bare datagrams go beside the full window, so a fifth
// of the media arrives throughout, each datagram once although the proxy delivers every packet
// twice (the copies are replays, dropped).
TEST(QuicNetem, MediaKeepsFlowingThroughEightyPercentLossBothWays) {
  NetemConfig cfg = eighty_percent_after_a_clean_second(11);
  cfg.to_upstream.duplicate = 1;  // every packet that arrives, twice
  const auto lossy_from = Clock::now() + std::chrono::milliseconds(1000);  // the proxy starts next
  Path s(cfg);
  ASSERT_TRUE(run_until(
      s.io, [&] { return s.client_side.up; }, 900));
  const auto sent_at = s.send_numbered(100, lossy_from + std::chrono::seconds(7));
  s.io.run_for(std::chrono::milliseconds(300));
  // Datagrams sent into the lossy path from its second second, and when they arrived.
  const auto from = lossy_from + std::chrono::seconds(1);
  size_t offered = 0, arrived = 0;
  for (auto t : sent_at) offered += t >= from;
  std::vector<uint32_t> ids;
  double gap = 0;
  auto prev = from;
  for (size_t k = 0; k < s.server_side.ids.size(); ++k) {
    if (sent_at.at(s.server_side.ids[k]) < from) continue;
    ++arrived;
    ids.push_back(s.server_side.ids[k]);
    gap = std::max(gap, std::chrono::duration<double>(s.server_side.arrivals[k] - prev).count());
    prev = s.server_side.arrivals[k];
  }
  std::sort(ids.begin(), ids.end());
  const auto cs = s.client->connection().stats();
  ASSERT_NE(s.server_side.last, nullptr);
  const auto ss = s.server_side.last->stats();
  std::printf(
      "80 %% both ways: %zu of %zu datagrams arrived (%.1f %%); longest gap %.0f ms; %lu sent "
      "bare; %lu bare received, %lu dropped as replays; window %lu of %lu bytes in flight\n",
      arrived, offered, 100.0 * arrived / offered, gap * 1000, cs.bare_sent, ss.bare_received,
      ss.bare_rejected, cs.bytes_in_flight, cs.cwnd);
  EXPECT_GE(offered, 250u);
  EXPECT_GE(arrived, offered / 8);  // a fifth expected (5 sigma: 13 %)
  EXPECT_LT(gap, 1.0);
  EXPECT_GT(cs.bare_sent, 0u);
  EXPECT_TRUE(std::adjacent_find(ids.begin(), ids.end()) == ids.end())
      << "a datagram arrived twice";
  EXPECT_GT(ss.bare_received, 0u);
  EXPECT_EQ(ss.bare_rejected, ss.bare_received);  // the proxy's copy of each, a replay
}

// Signalling through 80 % loss each way: each message and each acknowledgement that would let
// the next go needs a round trip, which succeeds 4 % of the time, and the probe timeout doubles
// from one try to the next. Packets without media leave once more per timeout in a row
// (QuicConnection control copies), so that a join's messages get through in seconds.
TEST(QuicNetem, SignallingGetsThroughEightyPercentLossBothWays) {
  NetemConfig cfg = eighty_percent_after_a_clean_second(21);
  const auto lossy_from = Clock::now() + std::chrono::milliseconds(1000);
  Path s(cfg);
  ASSERT_TRUE(run_until(
      s.io, [&] { return s.client_side.up; }, 900));
  run_until(
      s.io, [] { return false; },
      static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(lossy_from - Clock::now())
              .count()));
  // A join's worth: eight messages, one every 250 ms (offer, keys, reports...).
  std::string expected;
  for (int i = 0; i < 8; ++i) {
    const std::string m = "message " + std::to_string(i) + "\n";
    expected += m;
    s.client->connection().send_stream({reinterpret_cast<const uint8_t*>(m.data()), m.size()});
    s.io.run_for(std::chrono::milliseconds(250));
  }
  const auto sent = Clock::now();
  run_until(
      s.io, [&] { return s.server_side.stream == expected; }, 12000);
  const double took = std::chrono::duration<double>(Clock::now() - sent).count();
  std::printf(
      "80 %% both ways: %zu of %zu signalling bytes in %.1f s after the last was sent; %lu "
      "packets copied\n",
      s.server_side.stream.size(), expected.size(), took,
      s.client->connection().stats().control_copies);
  EXPECT_EQ(s.server_side.stream, expected);
  EXPECT_LT(took, 5.0);  // sent once each: 20 of the 80 bytes in 12 s
}

}  // namespace
}  // namespace wzp::transport
