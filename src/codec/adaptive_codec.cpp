#include "codec/adaptive_codec.h"

#include <algorithm>

namespace wzp::codec {

AdaptiveEncoder::AdaptiveEncoder(proto::CodecId initial, const EncoderOptions& options)
    : options_(options), current_(initial) {}

Encoder& AdaptiveEncoder::get(proto::CodecId id) {
  auto& e = encoders_[static_cast<size_t>(id)];
  if (!e) e = make_encoder(id, options_);
  return *e;
}

void AdaptiveEncoder::set_codec(proto::CodecId id) { current_ = id; }

size_t AdaptiveEncoder::encode(std::span<const int16_t> pcm, std::span<uint8_t> out) {
  return get(current_).encode(pcm, out);
}

void AdaptiveEncoder::set_expected_loss(int percent) {
  options_.expected_loss_percent = percent;
  for (auto& e : encoders_) {
    if (e) e->set_expected_loss(percent);
  }
}

Decoder& AdaptiveDecoder::get(proto::CodecId id) {
  auto& d = decoders_[static_cast<size_t>(id)];
  if (!d) d = make_decoder(id);
  return *d;
}

bool AdaptiveDecoder::decode(proto::CodecId id, std::span<const uint8_t> data,
                             std::span<int16_t> pcm) {
  const bool switching = have_last_ && id != last_ && id != proto::CodecId::kComfortNoise &&
                         last_ != proto::CodecId::kComfortNoise;
  size_t fade = 0;
  if (switching) {
    fade = std::min(kCrossfade, pcm.size());
    get(last_).conceal(std::span(old_).first(pcm.size()));
  }
  const bool ok = get(id).decode(data, pcm);
  for (size_t i = 0; i < fade; ++i) {
    const double w = static_cast<double>(i + 1) / (fade + 1);
    pcm[i] = static_cast<int16_t>(old_[i] * (1 - w) + pcm[i] * w);
  }
  last_ = id;
  have_last_ = true;
  return ok;
}

void AdaptiveDecoder::conceal(std::span<int16_t> pcm) {
  if (!have_last_) {
    std::fill(pcm.begin(), pcm.end(), 0);
    return;
  }
  get(last_).conceal(pcm);
}

}  // namespace wzp::codec
