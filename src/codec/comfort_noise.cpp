// Comfort noise (codec id 5): during silence the sender describes the background noise by one
// byte, its level in -dBov (0..127), every 200 ms; the receiver generates noise at that level
// so that silence does not sound like a dropped call.
#include <algorithm>
#include <cmath>
#include <random>

#include "codec/audio_codec.h"
#include "codec/codec_factory.h"

namespace wzp::codec {
namespace {

uint8_t level_of(std::span<const int16_t> pcm) {
  double sum = 0;
  for (int16_t s : pcm) sum += static_cast<double>(s) * s;
  const double rms = std::sqrt(sum / std::max<size_t>(1, pcm.size()));
  if (rms < 1) return 127;
  const double dbov = 20 * std::log10(rms / 32768.0);
  return static_cast<uint8_t>(std::clamp(-dbov, 0.0, 127.0));
}

class CnEnc final : public Encoder {
 public:
  proto::CodecId id() const override { return proto::CodecId::kComfortNoise; }
  size_t encode(std::span<const int16_t> pcm, std::span<uint8_t> out) override {
    if (out.empty()) return 0;
    out[0] = level_of(pcm);
    return 1;
  }
};

class CnDec final : public Decoder {
 public:
  proto::CodecId id() const override { return proto::CodecId::kComfortNoise; }
  bool decode(std::span<const uint8_t> data, std::span<int16_t> pcm) override {
    if (data.size() != 1 || data[0] > 127) {
      conceal(pcm);
      return false;
    }
    amplitude_ = 32768.0 * std::pow(10.0, -data[0] / 20.0);
    conceal(pcm);
    return true;
  }
  // Noise at the last described level, gently low-passed (background noise is rarely white).
  void conceal(std::span<int16_t> pcm) override {
    std::normal_distribution<double> n(0, 1);
    for (auto& s : pcm) {
      state_ = 0.7 * state_ + 0.3 * n(rng_);
      s = static_cast<int16_t>(std::clamp(state_ * amplitude_ * 2.4, -32767.0, 32767.0));
    }
  }

 private:
  double amplitude_ = 0;
  double state_ = 0;
  std::minstd_rand rng_{12345};
};

}  // namespace

std::unique_ptr<Encoder> make_comfort_noise_encoder() { return std::make_unique<CnEnc>(); }
std::unique_ptr<Decoder> make_comfort_noise_decoder() { return std::make_unique<CnDec>(); }

std::unique_ptr<Encoder> make_encoder(proto::CodecId id, const EncoderOptions& options) {
  if (proto::codec_info(id).is_opus) return make_opus_encoder(id, options);
  if (id == proto::CodecId::kComfortNoise) return make_comfort_noise_encoder();
  return make_codec2_encoder(id);
}

std::unique_ptr<Decoder> make_decoder(proto::CodecId id) {
  if (proto::codec_info(id).is_opus) return make_opus_decoder(id);
  if (id == proto::CodecId::kComfortNoise) return make_comfort_noise_decoder();
  return make_codec2_decoder(id);
}

}  // namespace wzp::codec
