// Whole-buffer resampling (speexdsp), for audio files at other rates.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace wzp::codec {

std::vector<int16_t> resample(std::span<const int16_t> in, uint32_t from_rate, uint32_t to_rate);

}  // namespace wzp::codec
