#include "proto/quality_profile.h"

#include <array>

namespace wzp::proto {
namespace {

constexpr std::array<QualityProfile, 6> kProfiles = {{
    {"good", CodecId::kOpus24k, 20, 0.2, 5, 1},
    {"degraded", CodecId::kOpus6k, 40, 0.5, 10, 1},
    {"catastrophic", CodecId::kCodec2_1200, 40, 1.0, 8, 3},
    {"studio32", CodecId::kOpus32k, 20, 0.1, 5, 1},
    {"studio48", CodecId::kOpus48k, 20, 0.1, 5, 1},
    {"studio64", CodecId::kOpus64k, 20, 0.1, 5, 1},
}};

}  // namespace

double QualityProfile::media_kbps() const {
  return codec_info(codec).bitrate_bps / 1000.0 * (1.0 + fec_ratio);
}

const QualityProfile& profile_for(Tier tier) { return kProfiles[static_cast<uint8_t>(tier)]; }

std::span<const QualityProfile> all_profiles() { return kProfiles; }

std::optional<QualityProfile> profile_from_name(std::string_view name) {
  for (const auto& p : kProfiles) {
    if (p.name == name) return p;
  }
  return std::nullopt;
}

const QualityProfile* profile_for_codec(CodecId codec) {
  for (const auto& p : kProfiles) {
    if (p.codec == codec) return &p;
  }
  return nullptr;
}

std::string_view tier_name(Tier tier) { return profile_for(tier).name; }

std::optional<Tier> tier_from_name(std::string_view name) {
  for (uint8_t t = 0; t < 3; ++t) {
    if (kProfiles[t].name == name) return static_cast<Tier>(t);
  }
  return std::nullopt;
}

}  // namespace wzp::proto
