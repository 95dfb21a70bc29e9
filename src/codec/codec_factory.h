// The constructors behind make_encoder()/make_decoder(), one per codec family.
#pragma once

#include <memory>

#include "codec/audio_codec.h"

namespace wzp::codec {

std::unique_ptr<Encoder> make_opus_encoder(proto::CodecId id, const EncoderOptions& o);
std::unique_ptr<Decoder> make_opus_decoder(proto::CodecId id);
std::unique_ptr<Encoder> make_codec2_encoder(proto::CodecId id);
std::unique_ptr<Decoder> make_codec2_decoder(proto::CodecId id);
std::unique_ptr<Encoder> make_comfort_noise_encoder();
std::unique_ptr<Decoder> make_comfort_noise_decoder();

}  // namespace wzp::codec
