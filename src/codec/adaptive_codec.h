// Encoder and decoder that change codec on a frame boundary without a click or a gap.
//
// The decoder keeps one decoder per codec it has seen. When the codec of the next frame
// differs from the last one, it crossfades over the first 5 ms from the old decoder's
// concealment (the natural continuation of what was playing) into the new decoder's output.
#pragma once

#include <array>
#include <memory>
#include <span>

#include "codec/audio_codec.h"

namespace wzp::codec {

class AdaptiveEncoder {
 public:
  explicit AdaptiveEncoder(proto::CodecId initial, const EncoderOptions& options = {});
  // Takes effect from the next encode().
  void set_codec(proto::CodecId id);
  proto::CodecId codec() const { return current_; }
  size_t frame_samples() const { return codec::frame_samples(current_); }
  // pcm holds frame_samples() samples.
  size_t encode(std::span<const int16_t> pcm, std::span<uint8_t> out);
  void set_expected_loss(int percent);

 private:
  Encoder& get(proto::CodecId id);
  EncoderOptions options_;
  proto::CodecId current_;
  std::array<std::unique_ptr<Encoder>, proto::kMaxCodecId + 1> encoders_;
};

class AdaptiveDecoder {
 public:
  static constexpr size_t kCrossfade = 5 * kSamplesPerMs;

  // Decodes one frame of `id` into pcm (frame_samples(id) samples).
  bool decode(proto::CodecId id, std::span<const uint8_t> data, std::span<int16_t> pcm);
  // Conceals pcm.size() samples with the last codec's concealment.
  void conceal(std::span<int16_t> pcm);
  proto::CodecId last_codec() const { return last_; }

 private:
  Decoder& get(proto::CodecId id);
  std::array<std::unique_ptr<Decoder>, proto::kMaxCodecId + 1> decoders_;
  proto::CodecId last_ = proto::CodecId::kOpus24k;
  bool have_last_ = false;
  std::array<int16_t, kMaxFrameSamples> old_{};
};

}  // namespace wzp::codec
