// Codec costs per tier, and the whole call pipeline both ways next to the codec alone
// measured in the same run: what everything around the codec adds.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>

#include "client/call_decoder.h"
#include "client/call_encoder.h"
#include "codec/audio_analysis.h"
#include "codec/audio_codec.h"
#include "crypto/session_crypto.h"
#include "micro.h"
#include "proto/quality_profile.h"
#include "speech.h"
#include "suites.h"

namespace wzp::bench {
namespace {

constexpr proto::Tier kTiers[] = {proto::Tier::kGood, proto::Tier::kDegraded,
                                  proto::Tier::kCatastrophic};

const proto::QualityProfile& tier_profile(int64_t i) {
  return proto::profile_for(static_cast<proto::Tier>(i));
}

// Speech-like input: a tone with a slow amplitude swell, so VAD counts it as speech.
std::vector<int16_t> test_audio(size_t samples) {
  auto t = codec::tone(220, samples, 6000);
  for (size_t i = 0; i < t.size(); ++i)
    t[i] = static_cast<int16_t>(t[i] * (0.6 + 0.4 * ((i / 4800) % 2)));
  return t;
}

// Codec alone, per 20 ms of audio. range(0) tier, range(1) Opus complexity.
void BM_CodecEncode(benchmark::State& state) {
  const auto& p = tier_profile(state.range(0));
  codec::EncoderOptions o;
  o.complexity = static_cast<int>(state.range(1));
  auto enc = codec::make_encoder(p.codec, o);
  const size_t n = codec::frame_samples(p.codec);
  const auto audio = test_audio(n * 50);
  std::vector<uint8_t> out(codec::kMaxEncodedBytes);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(enc->encode(std::span(audio).subspan((i++ % 50) * n, n), out));
  }
  state.SetItemsProcessed(state.iterations() * (p.frame_ms / 20));  // 20 ms units
}
BENCHMARK(BM_CodecEncode)->Args({0, 5})->Args({1, 5})->Args({2, 5})->Args({0, 1})->Args({0, 10});

void BM_CodecDecode(benchmark::State& state) {
  const auto& p = tier_profile(state.range(0));
  auto enc = codec::make_encoder(p.codec);
  auto dec = codec::make_decoder(p.codec);
  const size_t n = codec::frame_samples(p.codec);
  const auto audio = test_audio(n * 50);
  std::vector<std::vector<uint8_t>> frames;
  std::vector<uint8_t> out(codec::kMaxEncodedBytes);
  for (int f = 0; f < 50; ++f) {
    const size_t len = enc->encode(std::span(audio).subspan(f * n, n), out);
    frames.emplace_back(out.begin(), out.begin() + len);
  }
  std::vector<int16_t> pcm(n);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(dec->decode(frames[i++ % 50], pcm));
  state.SetItemsProcessed(state.iterations() * (p.frame_ms / 20));
}
BENCHMARK(BM_CodecDecode)->Arg(0)->Arg(1)->Arg(2);

struct Keys {
  crypto::SessionKeys keys;
  Keys() {
    for (size_t i = 0; i < 32; ++i) keys.key.data()[i] = static_cast<uint8_t>(i + 1);
    keys.session_id = 7;
  }
};

struct Collect : client::DatagramSink {
  std::vector<std::vector<uint8_t>> datagrams;
  void send(std::span<const uint8_t> d) override { datagrams.emplace_back(d.begin(), d.end()); }
};
struct Discard : client::DatagramSink {
  void send(std::span<const uint8_t> d) override { benchmark::DoNotOptimize(d.data()); }
};

client::CallEncoderConfig pipeline_config(int64_t tier) {
  client::CallEncoderConfig c;
  c.tier = static_cast<proto::Tier>(tier);
  c.adaptive = false;
  c.silence_suppression = false;  // a test tone is steady: the VAD would call it background
  return c;
}

double us_per_20ms(const MicroRun& r) {
  return r.items_per_second > 0 ? 1e6 / r.items_per_second : 0;
}

}  // namespace

// Waveform SNR of a codec round trip at the best alignment: a crude but repeatable proxy for
// what an encoder setting does to speech.
double speech_snr_db(proto::CodecId id, int complexity, const std::vector<int16_t>& speech) {
  codec::EncoderOptions o;
  o.complexity = complexity;
  auto enc = codec::make_encoder(id, o);
  auto dec = codec::make_decoder(id);
  const size_t n = codec::frame_samples(id);
  std::vector<int16_t> out(speech.size());
  std::vector<uint8_t> buf(codec::kMaxEncodedBytes);
  for (size_t at = 0; at + n <= speech.size(); at += n) {
    const size_t len = enc->encode(std::span(speech).subspan(at, n), buf);
    dec->decode(std::span(buf).first(len), std::span(out).subspan(at, n));
  }
  double best = -100;
  for (size_t lag = 0; lag < 800; ++lag) {
    double sig = 0, err = 0;
    for (size_t i = 0; i + lag < speech.size(); ++i) {
      const double x = speech[i], y = out[i + lag];
      sig += x * x;
      err += (x - y) * (x - y);
    }
    if (err > 0) best = std::max(best, 10 * std::log10(sig / err));
  }
  return best;
}

std::vector<Measurement> run_codec_suite() {
  auto runs = run_micro("BM_Codec");
  std::vector<Measurement> out;
  const auto speech = interop::espeak_speech(
      "Voice calls that keep working on hostile networks, with heavy loss, jitter and outages.");
  if (!speech.empty()) {
    for (int c : {1, 5, 10}) {
      out.push_back({"codec",
                     "good (opus24k), espeak speech",
                     "SNR at complexity " + std::to_string(c),
                     speech_snr_db(proto::CodecId::kOpus24k, c, speech),
                     "dB",
                     {},
                     true});
    }
  }
  for (int t = 0; t < 3; ++t) {
    const auto& p = tier_profile(t);
    const std::string name =
        std::string(p.name) + " (" + std::string(proto::codec_info(p.codec).name) + ")";
    out.push_back({"codec",
                   name,
                   "encode (complexity 5)",
                   us_per_20ms(runs["BM_CodecEncode/" + std::to_string(t) + "/5"]),
                   "us/20ms",
                   {},
                   false});
    out.push_back({"codec",
                   name,
                   "decode",
                   us_per_20ms(runs["BM_CodecDecode/" + std::to_string(t)]),
                   "us/20ms",
                   {},
                   false});
  }
  for (int c : {1, 10}) {
    out.push_back({"codec",
                   "good (opus24k)",
                   "encode (complexity " + std::to_string(c) + ")",
                   us_per_20ms(runs["BM_CodecEncode/0/" + std::to_string(c)]),
                   "us/20ms",
                   {},
                   false});
  }
  return out;
}

// Times `a` and `b` in alternating short rounds and returns the median time per call of each
// and the median of the per-round ratios: on a shared machine, interleaving cancels the slow
// swings that make back-to-back measurements disagree by 10-20 %.
struct Paired {
  double a_us, b_us, ratio;
};
Paired interleaved(const std::function<void()>& a, const std::function<void()>& b, int rounds = 15,
                   double round_s = 0.1) {
  using clock = std::chrono::steady_clock;
  auto time = [&](const std::function<void()>& f) {
    uint64_t n = 0;
    const auto start = clock::now();
    auto now = start;
    do {
      for (int i = 0; i < 10; ++i) f();
      n += 10;
      now = clock::now();
    } while (std::chrono::duration<double>(now - start).count() < round_s);
    return std::chrono::duration<double, std::micro>(now - start).count() / n;
  };
  std::vector<double> ta, tb, r;
  for (int i = 0; i < rounds; ++i) {
    ta.push_back(time(a));
    tb.push_back(time(b));
    r.push_back(tb.back() / ta.back());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return {median(ta), median(tb), median(r)};
}

std::vector<Measurement> run_pipeline_suite() {
  std::vector<Measurement> out;
  Keys k;
  const auto audio = test_audio(client::kPcmFrame * 100);
  for (int t = 0; t < 3; ++t) {
    const auto& p = tier_profile(t);
    const std::string name(p.name);
    // Sending: the codec alone against CallEncoder::push, per 20 ms of audio.
    auto enc = codec::make_encoder(p.codec);
    const size_t n = codec::frame_samples(p.codec);
    std::vector<uint8_t> buf(codec::kMaxEncodedBytes);
    size_t ci = 0;
    crypto::SessionCrypto s(k.keys, crypto::Direction::kOfferer);
    client::SessionMediaCrypto sealer(s);
    Discard sink;
    client::CallEncoder call(pipeline_config(t), sealer, sink);
    uint64_t now = 0;
    // A 40 ms codec frame is two 20 ms pipeline pushes: compare like with like.
    const int pushes = static_cast<int>(p.frame_ms / 20);
    const Paired send = interleaved(
        [&] {
          benchmark::DoNotOptimize(enc->encode(std::span(audio).subspan((ci++ % 40) * n, n), buf));
        },
        [&] {
          for (int i = 0; i < pushes; ++i) {
            call.push(
                std::span(audio).subspan((now / 20 % 100) * client::kPcmFrame, client::kPcmFrame),
                now);
            now += 20;
          }
        });
    // Receiving: the codec's decode against CallDecoder (datagrams in, pull out) per frame.
    Collect wire;
    {
      crypto::SessionCrypto s2(k.keys, crypto::Direction::kOfferer);
      client::SessionMediaCrypto sealer2(s2);
      client::CallEncoder e2(pipeline_config(t), sealer2, wire);
      for (uint64_t i = 0; i < 3000; ++i) {
        e2.push(std::span(audio).subspan((i % 100) * client::kPcmFrame, client::kPcmFrame), i * 20);
      }
    }
    std::vector<std::vector<uint8_t>> frames;
    {
      auto e3 = codec::make_encoder(p.codec);
      for (int f = 0; f < 40; ++f) {
        const size_t len = e3->encode(std::span(audio).subspan(f * n, n), buf);
        frames.emplace_back(buf.begin(), buf.begin() + len);
      }
    }
    auto dec = codec::make_decoder(p.codec);
    std::vector<int16_t> pcm(codec::kMaxFrameSamples);
    size_t di = 0;
    crypto::SessionCrypto r(k.keys, crypto::Direction::kAnswerer);
    client::SessionMediaCrypto opener(r);
    client::CallDecoderConfig dc;
    auto rx = std::make_unique<client::CallDecoder>(dc, opener);
    size_t next = 0;
    uint64_t tick = 0;
    const Paired recv = interleaved(
        [&] { benchmark::DoNotOptimize(dec->decode(frames[di++ % 40], std::span(pcm).first(n))); },
        [&] {
          for (int i = 0; i < pushes; ++i) {
            if (tick == 3000) {  // the recording is over: a fresh call
              r = crypto::SessionCrypto(k.keys, crypto::Direction::kAnswerer);
              rx = std::make_unique<client::CallDecoder>(dc, opener);
              next = tick = 0;
            }
            const size_t until = wire.datagrams.size() * (tick + 1) / 3000;
            for (; next < until; ++next) rx->on_datagram(wire.datagrams[next], tick * 20);
            rx->pull(std::span(pcm).first(client::kPcmFrame), tick * 20);
            ++tick;
          }
        });
    const double per20 = 1.0 / pushes;  // report per 20 ms of audio
    out.push_back({"pipeline", name, "send (ref: codec encode)", send.b_us * per20, "us/20ms",
                   send.a_us * per20, false});
    out.push_back({"pipeline", name, "receive (ref: codec decode)", recv.b_us * per20, "us/20ms",
                   recv.a_us * per20, false});
    const double both = (send.b_us + recv.b_us) * per20, ref = (send.a_us + recv.a_us) * per20;
    out.push_back({"pipeline", name, "both ways (ref: codec both)", both, "us/20ms", ref, false});
    out.push_back(
        {"pipeline", name, "calls per core", 20000.0 / both, "calls", 20000.0 / ref, true});
  }
  return out;
}

}  // namespace wzp::bench
