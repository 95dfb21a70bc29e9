// FEC figures: RaptorQ throughput against npm raptorq in the same run; what each tier costs in
// media bitrate against the original's fixed 256-byte symbols; and residual frame loss under
// burst loss with and without interleaving.
#include <benchmark/benchmark.h>

#include <cmath>
#include <iostream>
#include <sstream>

#include "fec/fec_decoder.h"
#include "fec/fec_encoder.h"
#include "fec/frame_packing.h"
#include "fec/raptorq.h"
#include "micro.h"
#include "npm_oracle.h"
#include "proto/loss_model.h"
#include "proto/quality_profile.h"
#include "suites.h"

namespace wzp::bench {
namespace {

constexpr std::pair<uint32_t, size_t> kCases[] = {{5, 256}, {10, 256}, {100, 1280}};

// One "encode" is what npm's Encoder.encode(1) does: the block's plan applied and one repair.
void BM_FecEncode(benchmark::State& state) {
  const auto K = static_cast<uint32_t>(state.range(0));
  const auto T = static_cast<size_t>(state.range(1));
  const auto data = interop::block_data(K, T);
  fec::RaptorQEncoder enc;
  std::vector<uint8_t> repair(T);
  for (auto _ : state) {
    enc.encode(K, T, data);
    enc.symbol(K, repair);
    benchmark::DoNotOptimize(repair.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FecEncode)->Args({5, 256})->Args({10, 256})->Args({100, 1280});

// One "decode" recovers source symbol 0 from the other K-1 and one repair, as the npm
// benchmark does.
void BM_FecDecode(benchmark::State& state) {
  const auto K = static_cast<uint32_t>(state.range(0));
  const auto T = static_cast<size_t>(state.range(1));
  const auto data = interop::block_data(K, T);
  fec::RaptorQEncoder enc;
  enc.encode(K, T, data);
  std::vector<std::vector<uint8_t>> sym(K + 1, std::vector<uint8_t>(T));
  for (uint32_t e = 0; e <= K; ++e) enc.symbol(e, sym[e]);
  fec::RaptorQDecoder dec;
  for (auto _ : state) {
    dec.reset(K, T);
    for (uint32_t e = 1; e <= K; ++e) dec.add(e, sym[e]);
    if (!dec.decode()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(dec.source(0).data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FecDecode)->Args({5, 256})->Args({10, 256})->Args({100, 1280});

struct ByteCounter : fec::FecSink {
  uint64_t source = 0, repair = 0, packets = 0, repair_packets = 0;
  void on_packet(const fec::FecPacket& p) override {
    ++packets;
    if (p.is_repair) {
      repair += p.payload.size() - fec::kRepairInfoBytes;
      ++repair_packets;
    } else {
      source += p.payload.size();
    }
  }
};

// Nominal codec frame size: bitrate x duration.
size_t nominal_frame_bytes(const proto::QualityProfile& p) {
  return proto::codec_info(p.codec).bitrate_bps * p.frame_ms / 8000;
}

fec::FecConfig config_for(const proto::QualityProfile& p, uint32_t depth) {
  return {.frames_per_block = p.frames_per_block,
          .ratio = p.fec_ratio,
          .depth = depth,
          .deadline_ms = 100000,
          .slot_ms = p.frame_ms,
          .nominal_frame_bytes = nominal_frame_bytes(p)};
}

void tier_bitrates(std::vector<Measurement>& out) {
  for (auto tier : {proto::Tier::kGood, proto::Tier::kDegraded, proto::Tier::kCatastrophic}) {
    const auto& p = proto::profile_for(tier);
    const size_t frame = nominal_frame_bytes(p);
    const uint32_t seconds = 60, frames = seconds * 1000 / p.frame_ms;
    ByteCounter ours;
    fec::FecEncoder enc(config_for(p, tier == proto::Tier::kCatastrophic ? 3 : 1));
    const std::vector<uint8_t> f(frame, 0x55);
    for (uint32_t i = 0; i < frames; ++i) enc.push(i * p.frame_ms, f, ours);
    enc.flush(ours);
    const double media_kbps = (ours.source + ours.repair) * 8.0 / seconds / 1000.0;
    // The original: every frame in a fixed 256-byte symbol, ceil(N x ratio) repairs per block.
    const double blocks = static_cast<double>(frames) / p.frames_per_block;
    const double orig_packets =
        frames + blocks * std::ceil(p.frames_per_block * p.fec_ratio - 1e-9);
    const double orig_kbps = orig_packets * 256 * 8.0 / seconds / 1000.0;
    const std::string name =
        std::string(p.name) + " (nominal " + std::to_string(p.media_kbps()).substr(0, 4) + " kbps)";
    out.push_back({"fec", name, "media bitrate", media_kbps, "kbps", orig_kbps, false});
    out.push_back({"fec", name, "media / nominal", media_kbps / p.media_kbps(), "x", {}, false});
    // On the wire: + tag and full 12-byte header + 16-byte AEAD tag per packet, + repair info.
    const double header_bytes = ours.packets * (1 + 12 + 16) + ours.repair_packets * 2.0;
    out.push_back({"fec",
                   name,
                   "with wzp headers",
                   media_kbps + header_bytes * 8 / seconds / 1000,
                   "kbps",
                   {},
                   false});
  }
}

void burst_residuals(std::vector<Measurement>& out) {
  for (auto tier : {proto::Tier::kGood, proto::Tier::kDegraded, proto::Tier::kCatastrophic}) {
    const auto& p = proto::profile_for(tier);
    double residual[2];
    for (int d = 0; d < 2; ++d) {
      struct Counter : fec::FrameSink {
        uint64_t frames = 0;
        void on_frame(uint32_t, std::span<const uint8_t>, bool, uint8_t) override { ++frames; }
      } got;
      struct Link : fec::FecSink {
        fec::FecDecoder dec;
        proto::GilbertElliott loss = proto::GilbertElliott::with_bursts(0.15, 3.0, 4242);
        fec::FrameSink* sink;
        uint32_t slot_ms;
        void on_packet(const fec::FecPacket& p) override {
          if (!loss.lose()) dec.on_packet(p, slot_ms, *sink);
        }
      } link;
      link.sink = &got;
      link.slot_ms = p.frame_ms;
      fec::FecEncoder enc(config_for(p, d == 0 ? 1 : 3));
      const std::vector<uint8_t> f(nominal_frame_bytes(p), 0x33);
      const uint32_t frames = 100000;
      for (uint32_t i = 0; i < frames; ++i) enc.push(i * p.frame_ms, f, link);
      enc.flush(link);
      residual[d] = 100.0 * (1.0 - static_cast<double>(got.frames) / frames);
    }
    out.push_back({"fec", std::string(p.name) + ", GE 15 % burst 3, depth 3 vs 1",
                   "residual frame loss", residual[1], "%", residual[0], false});
  }
}

}  // namespace

std::vector<Measurement> run_fec_suite() {
  std::vector<Measurement> out;
  auto runs = run_micro("BM_Fec");
  std::vector<std::string> jobs;
  for (const auto& [K, T] : kCases) {
    jobs.push_back("bench " + std::to_string(K) + " " + std::to_string(T) + " 1.0");
  }
  std::vector<std::string> npm;
  try {
    std::cerr << "wzp-bench: measuring npm raptorq (node)...\n";
    npm = interop::run_oracle(jobs);
  } catch (const std::exception& e) {
    std::cerr << "wzp-bench: no npm raptorq reference: " << e.what() << "\n";
  }
  for (size_t i = 0; i < std::size(kCases); ++i) {
    const auto [K, T] = kCases[i];
    std::string args = "/";  // Google Benchmark's name suffix: /K/T
    args += std::to_string(K);
    args += '/';
    args += std::to_string(T);
    double npm_enc = 0, npm_dec = 0;
    if (i < npm.size()) {
      std::istringstream in(npm[i]);
      uint32_t k;
      size_t t;
      in >> k >> t >> npm_enc >> npm_dec;
    }
    auto ref = [](double v) { return v > 0 ? std::optional<double>(v) : std::nullopt; };
    const std::string name = "K=" + std::to_string(K) + " T=" + std::to_string(T);
    out.push_back({"fec", name, "encode", runs["BM_FecEncode" + args].items_per_second, "blocks/s",
                   ref(npm_enc), true});
    out.push_back({"fec", name, "decode", runs["BM_FecDecode" + args].items_per_second, "blocks/s",
                   ref(npm_dec), true});
  }
  tier_bitrates(out);
  burst_residuals(out);
  return out;
}

}  // namespace wzp::bench
