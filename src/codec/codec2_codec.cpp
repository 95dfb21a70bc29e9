// Codec2 (3200 and 1200 bit/s) at 8 kHz, with speexdsp resampling to and from 48 kHz so that
// the rest of the pipeline never sees another rate.
#include <codec2/codec2.h>
#include <speex/speex_resampler.h>

#include <stdexcept>
#include <vector>

#include "codec/audio_codec.h"
#include "codec/codec_factory.h"

namespace wzp::codec {
namespace {

constexpr uint32_t kCodec2Rate = 8000;
constexpr int kResamplerQuality = 5;  // speexdsp 0..10; 5 is its "VoIP" default

struct Codec2Deleter {
  void operator()(CODEC2* c) const { codec2_destroy(c); }
};
struct ResamplerDeleter {
  void operator()(SpeexResamplerState* r) const { speex_resampler_destroy(r); }
};

int mode_for(proto::CodecId id) {
  return id == proto::CodecId::kCodec2_3200 ? CODEC2_MODE_3200 : CODEC2_MODE_1200;
}

std::unique_ptr<SpeexResamplerState, ResamplerDeleter> resampler(uint32_t from, uint32_t to) {
  int err = 0;
  std::unique_ptr<SpeexResamplerState, ResamplerDeleter> r(
      speex_resampler_init(1, from, to, kResamplerQuality, &err));
  if (!r || err != RESAMPLER_ERR_SUCCESS) throw std::runtime_error("speexdsp resampler");
  speex_resampler_skip_zeros(r.get());
  return r;
}

// Runs a resampler for exactly out.size() output samples from in (whole frames at a fixed
// ratio, so counts match; a short count is padded with the last sample).
void resample(SpeexResamplerState* r, std::span<const int16_t> in, std::span<int16_t> out) {
  spx_uint32_t in_len = static_cast<spx_uint32_t>(in.size());
  spx_uint32_t out_len = static_cast<spx_uint32_t>(out.size());
  speex_resampler_process_int(r, 0, in.data(), &in_len, out.data(), &out_len);
  for (size_t i = out_len; i < out.size(); ++i) out[i] = out_len ? out[out_len - 1] : 0;
}

class Codec2Enc final : public Encoder {
 public:
  explicit Codec2Enc(proto::CodecId id)
      : id_(id), c2_(codec2_create(mode_for(id))), down_(resampler(kSampleRate, kCodec2Rate)) {
    if (!c2_) throw std::runtime_error("codec2: mode not available");
    narrow_.resize(codec2_samples_per_frame(c2_.get()));
  }
  proto::CodecId id() const override { return id_; }
  size_t encode(std::span<const int16_t> pcm, std::span<uint8_t> out) override {
    const size_t bytes = static_cast<size_t>(codec2_bytes_per_frame(c2_.get()));
    if (out.size() < bytes) return 0;
    resample(down_.get(), pcm, narrow_);
    codec2_encode(c2_.get(), out.data(), narrow_.data());
    return bytes;
  }

 private:
  proto::CodecId id_;
  std::unique_ptr<CODEC2, Codec2Deleter> c2_;
  std::unique_ptr<SpeexResamplerState, ResamplerDeleter> down_;
  std::vector<int16_t> narrow_;
};

class Codec2Dec final : public Decoder {
 public:
  explicit Codec2Dec(proto::CodecId id)
      : id_(id), c2_(codec2_create(mode_for(id))), up_(resampler(kCodec2Rate, kSampleRate)) {
    if (!c2_) throw std::runtime_error("codec2: mode not available");
    narrow_.resize(codec2_samples_per_frame(c2_.get()));
    last_.resize(codec2_bytes_per_frame(c2_.get()));
  }
  proto::CodecId id() const override { return id_; }
  bool decode(std::span<const uint8_t> data, std::span<int16_t> pcm) override {
    if (data.size() != last_.size()) {
      conceal(pcm);
      return false;
    }
    std::copy(data.begin(), data.end(), last_.begin());
    have_last_ = true;
    faded_ = 0;
    codec2_decode(c2_.get(), narrow_.data(), data.data());
    resample(up_.get(), narrow_, pcm);
    return true;
  }
  // Codec2 has no concealment of its own: repeat the last frame's parameters, fading out
  // over three frames, then silence.
  void conceal(std::span<int16_t> pcm) override {
    if (have_last_ && faded_ < 3) {
      codec2_decode(c2_.get(), narrow_.data(), last_.data());
      const float gain = 0.6f / static_cast<float>(1 + faded_++);
      for (auto& s : narrow_) s = static_cast<int16_t>(s * gain);
    } else {
      std::fill(narrow_.begin(), narrow_.end(), 0);
    }
    resample(up_.get(), narrow_, pcm);
  }

 private:
  proto::CodecId id_;
  std::unique_ptr<CODEC2, Codec2Deleter> c2_;
  std::unique_ptr<SpeexResamplerState, ResamplerDeleter> up_;
  std::vector<int16_t> narrow_;
  std::vector<uint8_t> last_;
  bool have_last_ = false;
  int faded_ = 0;
};

}  // namespace

std::unique_ptr<Encoder> make_codec2_encoder(proto::CodecId id) {
  return std::make_unique<Codec2Enc>(id);
}
std::unique_ptr<Decoder> make_codec2_decoder(proto::CodecId id) {
  return std::make_unique<Codec2Dec>(id);
}

}  // namespace wzp::codec
