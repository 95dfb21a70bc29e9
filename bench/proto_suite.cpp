// Wire-format costs: what the per-packet header work adds to the media path.
#include <benchmark/benchmark.h>

#include <array>

#include "micro.h"
#include "proto/media_frame.h"
#include "proto/signal_message.h"
#include "suites.h"

namespace wzp::bench {
namespace {

void BM_MediaHeaderWriteParse(benchmark::State& state) {
  proto::MediaHeaderWriter writer;
  proto::MediaFrameReader reader;
  std::array<uint8_t, 200> dgram{};
  proto::MediaHeader h;
  h.fec_ratio_code = 13;
  for (auto _ : state) {
    const size_t n = writer.write(h, nullptr, 100, dgram);
    auto f = reader.parse(std::span(dgram).first(n + 100));
    if (f) reader.accept(*f);
    benchmark::DoNotOptimize(f);
    ++h.seq;
    ++h.fec_symbol_idx;
    h.timestamp_ms += 20;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MediaHeaderWriteParse);

void BM_SignalEncodeDecode(benchmark::State& state) {
  const proto::SignalMessage msg = proto::QualityUpdate{3.5, 120, 14, "good"};
  for (auto _ : state) {
    auto back = proto::decode_signal(proto::encode_signal(msg));
    benchmark::DoNotOptimize(back);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignalEncodeDecode);

}  // namespace

std::vector<Measurement> run_proto_suite() {
  const auto runs = run_micro("BM_MediaHeaderWriteParse|BM_SignalEncodeDecode");
  std::vector<Measurement> out;
  auto add = [&](const char* bm, const char* case_name) {
    if (auto it = runs.find(bm); it != runs.end()) {
      out.push_back({"proto", case_name, "time", it->second.ns_per_iter, "ns/op", {}, false});
    }
  };
  add("BM_MediaHeaderWriteParse", "media header write+parse (mini)");
  add("BM_SignalEncodeDecode", "QualityUpdate JSON encode+decode");
  return out;
}

}  // namespace wzp::bench
