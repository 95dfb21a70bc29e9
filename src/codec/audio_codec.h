// Speech codecs behind one interface. Everything above the codec works in 48 kHz mono 16-bit
// PCM; a codec's frame is 20 or 40 ms of it (960 or 1920 samples), whatever its own rate.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "proto/codec_id.h"

namespace wzp::codec {

inline constexpr uint32_t kSampleRate = 48000;
inline constexpr size_t kSamplesPerMs = kSampleRate / 1000;
inline constexpr size_t kMaxFrameSamples = 60 * kSamplesPerMs;
inline constexpr size_t kMaxEncodedBytes = 1276;  // an Opus packet's ceiling

inline size_t frame_samples(proto::CodecId id) {
  return proto::codec_info(id).frame_ms * kSamplesPerMs;
}

struct EncoderOptions {
  int complexity = 5;       // Opus 0..10: the cost/quality trade-off (docs/BENCHMARKS.md)
  bool inband_fec = false;  // Opus LBRR
  int expected_loss_percent = 0;
  bool dtx = false;
};

class Encoder {
 public:
  virtual ~Encoder() = default;
  virtual proto::CodecId id() const = 0;
  // pcm holds exactly frame_samples(id()) samples; returns the encoded size (0 on failure).
  virtual size_t encode(std::span<const int16_t> pcm, std::span<uint8_t> out) = 0;
  virtual void set_expected_loss(int percent) { (void)percent; }
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual proto::CodecId id() const = 0;
  // Decodes one frame into pcm (frame_samples(id()) samples); false for a corrupt frame.
  virtual bool decode(std::span<const uint8_t> data, std::span<int16_t> pcm) = 0;
  // Loss concealment: a plausible continuation for one frame.
  virtual void conceal(std::span<int16_t> pcm) = 0;
};

// Throws std::runtime_error when the library refuses (never for a valid id).
std::unique_ptr<Encoder> make_encoder(proto::CodecId id, const EncoderOptions& options = {});
std::unique_ptr<Decoder> make_decoder(proto::CodecId id);

}  // namespace wzp::codec
