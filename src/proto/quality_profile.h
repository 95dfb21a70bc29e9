// Quality tiers: which codec, frame length, FEC ratio and block size a call uses.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "proto/codec_id.h"

namespace wzp::proto {

enum class Tier : uint8_t { kGood = 0, kDegraded = 1, kCatastrophic = 2 };

struct QualityProfile {
  std::string_view name;
  CodecId codec;
  uint32_t frame_ms;
  // The RaptorQ block layout of the tier (wzp-bench fec compares it with the sliding window);
  // the call's own protection comes from QualityController, not from these.
  double fec_ratio;           // repair symbols per source symbol
  uint32_t frames_per_block;  // FEC source block size in frames
  uint32_t interleave_depth;  // FEC blocks interleaved on the wire

  // Codec bitrate plus FEC repair, before packet headers: 24k x 1.2 = 28.8 kbps for GOOD.
  double media_kbps() const;
};

// The three adaptive tiers, and the studio profiles a user may pin on a clean link.
const QualityProfile& profile_for(Tier tier);
std::span<const QualityProfile> all_profiles();
std::optional<QualityProfile> profile_from_name(std::string_view name);
// The profile that uses `codec` (the first one, for codecs two profiles share).
const QualityProfile* profile_for_codec(CodecId codec);
std::string_view tier_name(Tier tier);
std::optional<Tier> tier_from_name(std::string_view name);

}  // namespace wzp::proto
