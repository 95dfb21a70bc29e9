#include "proto/codec_id.h"

#include <array>

namespace wzp::proto {
namespace {

constexpr std::array<CodecInfo, kMaxCodecId + 1> kCodecs = {{
    {CodecId::kOpus24k, "opus24k", 24000, 20, true},
    {CodecId::kOpus16k, "opus16k", 16000, 20, true},
    {CodecId::kOpus6k, "opus6k", 6000, 40, true},
    {CodecId::kCodec2_3200, "codec2-3200", 3200, 20, false},
    {CodecId::kCodec2_1200, "codec2-1200", 1200, 40, false},
    {CodecId::kComfortNoise, "comfort-noise", 0, 20, false},
    {CodecId::kOpus32k, "opus32k", 32000, 20, true},
    {CodecId::kOpus48k, "opus48k", 48000, 20, true},
    {CodecId::kOpus64k, "opus64k", 64000, 20, true},
    {CodecId::kOpus9k, "opus9k", 9000, 40, true},
    {CodecId::kOpus7k60, "opus7k-60ms", 7000, 60, true},
}};

}  // namespace

std::optional<CodecId> codec_from_wire(uint8_t value) {
  if (value > kMaxCodecId) return std::nullopt;
  return static_cast<CodecId>(value);
}

const CodecInfo& codec_info(CodecId id) { return kCodecs[static_cast<uint8_t>(id)]; }

std::optional<CodecId> codec_from_name(std::string_view name) {
  for (const auto& c : kCodecs) {
    if (c.name == name) return c.id;
  }
  return std::nullopt;
}

}  // namespace wzp::proto
