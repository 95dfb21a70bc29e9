#include <gtest/gtest.h>
#include <malloc.h>

#include <cmath>
#include <map>
#include <memory>

#include "fec/fec_decoder.h"
#include "fec/fec_encoder.h"
#include "fec/frame_packing.h"
#include "proto/loss_model.h"

namespace wzp::fec {
namespace {

struct StoredPacket {
  FecPacket header;
  std::vector<uint8_t> payload;
};

struct Capture : FecSink {
  std::vector<StoredPacket> packets;
  void on_packet(const FecPacket& p) override {
    packets.push_back({p, {p.payload.begin(), p.payload.end()}});
  }
};

struct Frames : FrameSink {
  std::map<uint32_t, std::vector<uint8_t>> got;  // by timestamp
  int recovered = 0;
  void on_frame(uint32_t ts, std::span<const uint8_t> f, bool rec, uint8_t) override {
    EXPECT_EQ(got.count(ts), 0u) << "frame at " << ts << " delivered twice";
    got[ts].assign(f.begin(), f.end());
    recovered += rec;
  }
};

std::vector<uint8_t> frame_content(uint32_t i, size_t len) {
  std::vector<uint8_t> f(len);
  for (size_t j = 0; j < len; ++j) f[j] = static_cast<uint8_t>(i * 7 + j * 13 + (i >> 8));
  return f;
}

struct Result {
  Capture sent;
  Frames received;
  std::vector<bool> lost;                                // per sent packet
  std::map<uint32_t, std::vector<uint8_t>> sent_frames;  // by timestamp
};

struct FrameAt {
  uint32_t slot;
  size_t len;
};

std::vector<FrameAt> every_slot(uint32_t n, size_t len) {
  std::vector<FrameAt> v;
  for (uint32_t i = 0; i < n; ++i) v.push_back({i, len});
  return v;
}

// Sends the frames through an encoder, drops packets by the model, decodes the rest.
std::unique_ptr<Result> simulate(const FecConfig& cfg, proto::LossModel& loss,
                                 const std::vector<FrameAt>& frames) {
  auto r = std::make_unique<Result>();
  FecEncoder enc(cfg);
  for (const auto& f : frames) {
    const uint32_t ts = f.slot * cfg.slot_ms;
    r->sent_frames[ts] = frame_content(f.slot, f.len);
    enc.push(ts, r->sent_frames[ts], r->sent);
  }
  enc.flush(r->sent);
  FecDecoder dec;
  for (const auto& p : r->sent.packets) {
    const bool drop = loss.lose();
    r->lost.push_back(drop);
    if (drop) continue;
    FecPacket h = p.header;
    h.payload = p.payload;
    dec.on_packet(h, cfg.slot_ms, r->received);
  }
  return r;
}

// Every delivered frame is the one sent at its timestamp, byte for byte.
void expect_frames_intact(const Result& r) {
  for (const auto& [ts, data] : r.received.got) {
    ASSERT_EQ(r.sent_frames.count(ts), 1u) << "ts " << ts;
    EXPECT_EQ(data, r.sent_frames.at(ts)) << "ts " << ts;
  }
}

TEST(FramePacking, PrefixCarriesLengthAndSlotGap) {
  std::vector<uint8_t> buf(64);
  const std::vector<uint8_t> frame = {1, 2, 3};
  ASSERT_EQ(write_frame(frame, 5, buf), 5u);
  EXPECT_EQ(buf[0], 3);
  EXPECT_EQ(buf[1], 5 << 3);  // 3 | 5 << 11, little-endian
  auto f = read_frame(std::span(buf).first(5), 0);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->slot_gap, 5u);
  EXPECT_EQ(std::vector<uint8_t>(f->data.begin(), f->data.end()), frame);
  EXPECT_EQ(read_frame(buf, 4)->symbols, 2u);                 // 2 + 3 bytes in 4-byte symbols
  EXPECT_FALSE(read_frame(std::span(buf).first(4), 0).ok());  // cut short
  EXPECT_EQ(symbol_size_for(6), 8u);    // Codec2 1200: 6-byte frames in 8-byte symbols
  EXPECT_EQ(symbol_size_for(30), 32u);  // Opus 6k, 40 ms
  EXPECT_EQ(symbol_size_for(60), 64u);  // Opus 24k, 20 ms
}

TEST(FecBlocks, NoLossDeliversEveryFrameDirectlyAndInOrder) {
  const FecConfig cfg{
      .frames_per_block = 5, .ratio = 0.2, .depth = 1, .slot_ms = 20, .nominal_frame_bytes = 60};
  proto::NoLoss none;
  auto r = simulate(cfg, none, every_slot(500, 60));
  EXPECT_EQ(r->received.got.size(), 500u);
  EXPECT_EQ(r->received.recovered, 0);
  expect_frames_intact(*r);
  // 100 blocks of 5 frames, one repair each.
  int repairs = 0;
  for (const auto& p : r->sent.packets) repairs += p.header.is_repair;
  EXPECT_EQ(repairs, 100);
}

// With ratio r, every block that lost at most floor(K r) of its packets comes back whole,
// except for the code's own rare failures.
TEST(FecBlocks, BlocksWithinTheRepairBudgetAreRecovered) {
  for (const auto& [N, ratio] : {std::pair{5u, 0.2}, {10u, 0.5}, {8u, 1.0}}) {
    const FecConfig cfg{.frames_per_block = N,
                        .ratio = ratio,
                        .depth = 1,
                        .slot_ms = 40,
                        .nominal_frame_bytes = 30};
    proto::RandomLoss loss(0.15, N);
    auto r = simulate(cfg, loss, every_slot(N * 250, 30));  // 250 blocks: ids do not wrap
    std::map<uint8_t, int> lost, sent;
    std::map<uint8_t, std::vector<uint32_t>> frames_of;
    for (size_t i = 0; i < r->sent.packets.size(); ++i) {
      const auto& h = r->sent.packets[i].header;
      ++sent[h.block_id];
      lost[h.block_id] += r->lost[i];
      if (!h.is_repair) frames_of[h.block_id].push_back(h.timestamp_ms);
    }
    const int budget = static_cast<int>(std::floor(N * ratio + 1e-9));
    int eligible = 0, whole = 0;
    for (const auto& [id, n_lost] : lost) {
      if (n_lost > budget) continue;
      ++eligible;
      bool all = true;
      for (uint32_t ts : frames_of[id]) all = all && r->received.got.count(ts);
      whole += all;
    }
    ASSERT_GT(eligible, 150) << "N=" << N;
    EXPECT_GE(whole, eligible - 2) << "N=" << N << " ratio " << ratio;
    expect_frames_intact(*r);
  }
}

TEST(FecBlocks, FramesLargerThanASymbolSpanSeveral) {
  // Symbols sized for 30-byte frames; every third frame is 100 bytes.
  const FecConfig cfg{
      .frames_per_block = 6, .ratio = 1.0, .depth = 1, .slot_ms = 20, .nominal_frame_bytes = 30};
  std::vector<FrameAt> frames;
  for (uint32_t i = 0; i < 600; ++i) frames.push_back({i, i % 3 == 0 ? 100u : 30u});
  proto::RandomLoss loss(0.2, 3);
  auto r = simulate(cfg, loss, frames);
  EXPECT_GT(r->received.recovered, 50);
  expect_frames_intact(*r);
  EXPECT_GE(r->received.got.size(), 590u);
}

TEST(FecBlocks, SilenceGapsKeepRecoveredTimestampsRight) {
  // Frames only in some slots (speech with pauses): recovered frames land in their slots.
  const FecConfig cfg{
      .frames_per_block = 5, .ratio = 0.6, .depth = 2, .slot_ms = 20, .nominal_frame_bytes = 20};
  std::vector<FrameAt> frames;
  for (uint32_t slot = 0; slot < 3000; ++slot) {
    if ((slot / 25) % 2 == 1 && slot % 10 != 0) continue;  // pauses: a frame every 10 slots
    frames.push_back({slot, 20});
  }
  proto::RandomLoss loss(0.2, 9);
  auto r = simulate(cfg, loss, frames);
  EXPECT_GT(r->received.recovered, 100);
  expect_frames_intact(*r);
}

// Under burst loss (Gilbert-Elliott, mean burst 3, 15 % loss) interleaving of depth 3 leaves
// fewer frames unrecovered than none.
TEST(FecBlocks, InterleavingBeatsBurstLoss) {
  for (const auto& [N, ratio] : {std::pair{5u, 0.4}, {10u, 0.5}}) {
    double residual[2];
    for (int d = 0; d < 2; ++d) {
      const FecConfig cfg{.frames_per_block = N,
                          .ratio = ratio,
                          .depth = d == 0 ? 1u : 3u,
                          .deadline_ms = 100000,
                          .slot_ms = 20,
                          .nominal_frame_bytes = 40};
      auto loss = proto::GilbertElliott::with_bursts(0.15, 3.0, 77);
      const uint32_t n = 20000;
      auto r = simulate(cfg, loss, every_slot(n, 40));
      residual[d] = 1.0 - static_cast<double>(r->received.got.size()) / n;
      expect_frames_intact(*r);
    }
    std::printf(
        "N=%u ratio %.1f: residual frame loss %.2f %% without interleaving, %.2f %% "
        "with depth 3\n",
        N, ratio, residual[0] * 100, residual[1] * 100);
    EXPECT_LT(residual[1], residual[0]) << "N=" << N;
  }
}

TEST(FecBlocks, GarbageAndDuplicatesAreCountedNotDelivered) {
  FecDecoder dec;
  Frames got;
  const std::vector<uint8_t> junk = {0xFF, 0xFF, 1};
  FecPacket p;
  p.payload = junk;
  dec.on_packet(p, 20, got);  // length 2047 in a 3-byte payload
  p.is_repair = true;
  p.esi = 3;
  dec.on_packet(p, 20, got);  // repair info says K=255, T=2040, but the payload is 3 bytes
  EXPECT_EQ(dec.stats().malformed, 2u);
  EXPECT_TRUE(got.got.empty());
  const std::vector<uint8_t> ok = {1, 0, 9};
  FecPacket s;
  s.payload = ok;
  dec.on_packet(s, 20, got);
  dec.on_packet(s, 20, got);
  EXPECT_EQ(got.got.size(), 1u);
  EXPECT_EQ(dec.stats().duplicates, 1u);
}

// A hostile sender picks K, T and how many symbols come: before the budget, each of 256
// blocks could stash 256 payloads of 2 KB and keep 240 repairs of 2 KB (about 250 MB for one
// sender). Now what it makes us hold stays within kMaxHeldBytes, its frames still arrive, and
// once its blocks expire everything is given back and honest recovery works as before.
TEST(FecBlocks, AHostileSenderCannotMakeUsHoldMoreThanTheBudget) {
  FecDecoder dec;
  struct Count : FrameSink {
    size_t frames = 0;
    void on_frame(uint32_t, std::span<const uint8_t>, bool, uint8_t) override { ++frames; }
  } count;
  const auto heap = []() -> size_t {
#if defined(__GLIBC__)
    return mallinfo2().uordblks;
#else
    return static_cast<size_t>(mallinfo().uordblks);  // emscripten's dlmalloc (wasm/)
#endif
  };
  const size_t before = heap();
  std::vector<uint8_t> frame(2000, 0x5A), source(kMaxFrameBytes + 8),
      repair(kRepairInfoBytes + 128, 0x33);
  const size_t used = write_frame(frame, 0, source);
  repair[0] = 255;      // K: more than it will ever send, so no block decodes (and lets go)
  repair[1] = 128 / 8;  // T: K x T within kMaxBlockBytes
  for (int id = 0; id < 256; ++id) {
    FecPacket p;
    p.block_id = static_cast<uint8_t>(id);
    p.timestamp_ms = 1000 + static_cast<uint32_t>(id);
    p.payload = {source.data(), used};
    for (int esi = 0; esi < 256; ++esi) {  // sources with no repair yet: stashed
      p.esi = static_cast<uint8_t>(esi);
      dec.on_packet(p, 20, count);
    }
  }
  for (int id = 0; id < 256; ++id) {  // other blocks: repairs, never K of them
    FecPacket p;
    p.is_repair = true;
    p.block_id = static_cast<uint8_t>(id);
    p.timestamp_ms = 5000 + static_cast<uint32_t>(id);
    p.payload = repair;
    for (int esi = 255; esi > 55; --esi) {
      p.esi = static_cast<uint8_t>(esi);
      dec.on_packet(p, 20, count);
    }
  }
  const size_t grown = heap() - std::min(heap(), before);
  std::printf("held %zu bytes (budget %zu), heap grew %zu bytes, %llu refused\n", dec.held_bytes(),
              kMaxHeldBytes, grown, static_cast<unsigned long long>(dec.stats().over_budget));
  EXPECT_LE(dec.held_bytes(), kMaxHeldBytes);
  EXPECT_GT(dec.stats().over_budget, 0u);
  EXPECT_LT(grown, 8u << 20);
  EXPECT_EQ(count.frames,
            256u * 256u);  // every frame was still delivered: only recovery is refused
  // Its blocks expire: everything is given back, and an honest block recovers again.
  dec.expire(5000 + 256 + kBlockLifetimeMs);
  EXPECT_EQ(dec.held_bytes(), 0u);
  EXPECT_LT(heap() - std::min(heap(), before), 1u << 20);
  FecConfig honest_config;
  honest_config.ratio = 0.5;
  FecEncoder enc(honest_config);
  Capture cap;
  const uint32_t t0 = 10000;
  for (uint32_t i = 0; i < 10; ++i) {
    const std::vector<uint8_t> f(60, static_cast<uint8_t>(i));
    enc.push(t0 + i * 20, f, cap);
  }
  enc.flush(cap);
  Frames honest;
  bool dropped_one = false;
  for (const auto& sp : cap.packets) {
    if (!sp.header.is_repair && sp.header.esi == 2 && !dropped_one) {
      dropped_one = true;  // one source frame lost on the way
      continue;
    }
    FecPacket p = sp.header;
    p.payload = sp.payload;
    dec.on_packet(p, 20, honest);
  }
  EXPECT_EQ(honest.got.size(), 10u);
  EXPECT_GE(honest.recovered, 1);
}

}  // namespace
}  // namespace wzp::fec
