// Sliding-window FEC: lost frames come back byte for byte from the repairs that follow them,
// within a few frames, and no sequence of packets can make the decoder misbehave.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "fec/window_decoder.h"
#include "fec/window_encoder.h"
#include "proto/loss_model.h"

namespace wzp::fec {
namespace {

struct Captured : FecSink {
  std::vector<std::pair<FecPacket, std::vector<uint8_t>>> packets;
  void on_packet(const FecPacket& p) override {
    packets.push_back({p, {p.payload.begin(), p.payload.end()}});
    packets.back().first.payload = packets.back().second;
  }
};

struct Frames : FrameSink {
  std::map<uint32_t, std::vector<uint8_t>> got;
  std::map<uint32_t, size_t> when;  // frame index at which each frame became available
  size_t now = 0;
  uint32_t recovered = 0;
  bool check_codec = true;
  void on_frame(uint32_t ts, std::span<const uint8_t> f, bool rec, uint8_t codec) override {
    if (check_codec) {
      EXPECT_EQ(codec, 0);
    }
    if (got.count(ts)) return;
    got[ts] = {f.begin(), f.end()};
    when[ts] = now;
    recovered += rec;
  }
  // Share of n frames missing `delay` frames after their own.
  double missing(uint32_t n, size_t delay) const {
    size_t ok = 0;
    for (const auto& [ts, at] : when) ok += at - ts / 20 <= delay;
    return 1.0 - static_cast<double>(ok) / n;
  }
};

std::vector<uint8_t> frame_for(uint32_t i) {
  std::vector<uint8_t> f(40 + i % 23);
  for (size_t k = 0; k < f.size(); ++k) f[k] = static_cast<uint8_t>(i * 31 + k * 7);
  return f;
}

// n frames through the code, each packet meeting its own fate, as the call paces repairs apart
// from their frame.
Frames run(const WindowFecConfig& cfg, proto::LossModel& loss, uint32_t n) {
  WindowEncoder enc(cfg);
  WindowDecoder dec;
  Frames out;
  for (uint32_t i = 0; i < n; ++i) {
    Captured c;
    enc.push(i * 20, frame_for(i), 0, c);
    out.now = i;
    for (auto& [p, bytes] : c.packets) {
      if (!loss.lose()) dec.on_packet(p, out);
    }
  }
  return out;
}

TEST(WindowFec, EveryFrameArrivesIntactOnACleanPath) {
  proto::NoLoss none;
  const auto out = run({.ratio = 0.5, .window = 6}, none, 500);
  ASSERT_EQ(out.got.size(), 500u);
  for (uint32_t i = 0; i < 500; ++i) EXPECT_EQ(out.got.at(i * 20), frame_for(i));
  EXPECT_EQ(out.recovered, 0u);
}

TEST(WindowFec, RecoversLostFramesByteForByteWithinTheWindow) {
  proto::RandomLoss loss(0.2, 11);
  const auto out = run({.ratio = 1.0, .window = 6}, loss, 5000);
  for (const auto& [ts, f] : out.got) EXPECT_EQ(f, frame_for(ts / 20));
  std::printf(
      "20 %% random, ratio 1, window 6: missing %.2f %% at once, %.2f %% after 3 frames, "
      "recovered %u\n",
      100 * out.missing(5000, 0), 100 * out.missing(5000, 3), out.recovered);
  EXPECT_GT(out.recovered, 800u);
  EXPECT_LT(out.missing(5000, 0), 0.06);   // most come back with the next packet
  EXPECT_LT(out.missing(5000, 3), 0.006);  // 60 ms later, all but 0.6 %
}

// The measurement behind the protection table (proto/quality_controller.cpp): frames missing
// four frames after their own, for each loss and ratio.
TEST(WindowFec, ResidualLossTable) {
  for (double p : {0.05, 0.2, 0.4, 0.6}) {
    std::printf("loss %2.0f %%:", 100 * p);
    for (double r : {0.5, 1.0, 1.5, 2.5, 4.0}) {
      proto::RandomLoss loss(p, 3);
      std::printf("  r %.1f %5.2f %%", r,
                  100 * run({.ratio = r, .window = 6}, loss, 4000).missing(4000, 4));
    }
    std::printf("\n");
  }
  proto::RandomLoss at20(0.2, 3);
  EXPECT_LT(run({.ratio = 1.0, .window = 6}, at20, 4000).missing(4000, 4), 0.005);
}

TEST(WindowFec, BurstsWithinTheWindowAreRecovered) {
  auto loss = proto::GilbertElliott::with_bursts(0.4, 3, 5);
  const auto out = run({.ratio = 3.0, .window = 6}, loss, 5000);
  std::printf("40 %% Gilbert-Elliott burst 3, ratio 3, window 6: missing %.2f %% after 6 frames\n",
              100 * out.missing(5000, 6));
  EXPECT_LT(out.missing(5000, 6), 0.01);
}

TEST(WindowFec, RatioZeroSendsNoRepairsAndHalfSendsOneEveryOtherFrame) {
  WindowEncoder enc({.ratio = 0.5, .window = 4});
  Captured c;
  for (uint32_t i = 0; i < 10; ++i) enc.push(i * 20, frame_for(i), 0, c);
  size_t repairs = 0;
  for (auto& [p, b] : c.packets) repairs += p.is_repair;
  EXPECT_EQ(repairs, 5u);
  enc.configure({.ratio = 0, .window = 4});
  Captured d;
  for (uint32_t i = 0; i < 10; ++i) enc.push(i * 20, frame_for(i), 0, d);
  EXPECT_EQ(d.packets.size(), 10u);
}

// Past 70 % loss a combination of frames that are mostly missing resolves nothing: the call
// sends copies instead, five frames to a packet. At 84 % loss (60 % on each of two legs), each
// frame's source and its six copies (1.2 packets of copies a frame) miss it 0.84^7 = 30 % of the
// time; the same bytes as copies one to a packet give about five chances (42 % missing).
TEST(WindowFec, CopiesFiveToAPacketBringBackWhatAnyOfThemCarries) {
  proto::RandomLoss loss(0.84, 5);
  const auto out = run({.ratio = 1.2, .window = 1, .copies = 5}, loss, 5000);
  for (const auto& [ts, f] : out.got) EXPECT_EQ(f, frame_for(ts / 20));
  std::printf("84 %% random, 1.2 packets of 5 copies a frame: missing %.1f %% after 4 frames\n",
              100 * out.missing(5000, 4));
  EXPECT_NEAR(out.missing(5000, 4), std::pow(0.84, 7), 0.03);
  EXPECT_EQ(out.missing(5000, 4), out.missing(5000, 100));  // nothing comes later than that
}

TEST(WindowFec, MalformedCopiesAreDroppedWholeAndCounted) {
  WindowEncoder enc({.ratio = 1, .window = 1, .copies = 3});
  Captured c;
  for (uint32_t i = 0; i < 3; ++i) enc.push(i * 20, frame_for(i), 0, c);
  const auto& [last_packet, good] = c.packets.back();
  const FecPacket last = last_packet;  // a copy the lambda below can capture
  ASSERT_TRUE(last.is_repair);
  ASSERT_EQ(good[0], 0);
  ASSERT_EQ(good[1], 3);
  const auto fed = [&](std::vector<uint8_t> payload) {
    WindowDecoder dec;
    Frames out;
    FecPacket p = last;
    p.payload = payload;
    dec.on_packet(p, out);
    return std::pair<size_t, uint64_t>(out.got.size(), dec.stats().malformed);
  };
  using Got = std::pair<size_t, uint64_t>;  // frames handed on, packets counted malformed
  EXPECT_EQ(fed(good), (Got{3, 0}));
  auto truncated = good;
  truncated.pop_back();
  EXPECT_EQ(fed(truncated), (Got{0, 1}));  // not the first two either
  auto trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(fed(trailing), (Got{0, 1}));
  auto none = good;
  none[1] = 0;
  EXPECT_EQ(fed(none), (Got{0, 1}));
  auto too_many = good;
  too_many[1] = 200;
  EXPECT_EQ(fed(too_many), (Got{0, 1}));
  auto bad_codec = good;
  bad_codec[2 + 4] = 0xEE;
  EXPECT_EQ(fed(bad_codec), (Got{0, 1}));
  // Copies of frames before the stream's first id do not exist.
  FecPacket early = last;
  early.block_id = 0;
  early.esi = 1;
  WindowDecoder dec;
  Frames out;
  dec.on_packet(early, out);
  EXPECT_EQ(dec.stats().malformed, 1u);
}

TEST(WindowFec, HostileRepairsAreDroppedAndCounted) {
  WindowDecoder dec;
  Frames out;
  out.check_codec = false;
  std::mt19937 rng(3);
  std::vector<uint8_t> payload(2000);
  for (int i = 0; i < 20000; ++i) {
    FecPacket p;
    p.is_repair = rng() % 2;
    p.block_id = static_cast<uint8_t>(rng());
    p.esi = static_cast<uint8_t>(rng());
    p.codec = static_cast<uint8_t>(rng() % 16);
    for (auto& b : payload) b = static_cast<uint8_t>(rng());
    p.payload = std::span(payload).first(rng() % payload.size());
    dec.on_packet(p, out);
  }
  // Nothing crashed (ASan watches the bounds); garbage was refused rather than believed.
  EXPECT_GT(dec.stats().malformed, 0u);
}

}  // namespace
}  // namespace wzp::fec
