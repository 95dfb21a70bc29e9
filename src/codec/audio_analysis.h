// Measurements on PCM used by the tests, the echo test and the benchmarks.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace wzp::codec {

// A sine tone of `freq` Hz at `amplitude` (16-bit), starting at sample `offset` of the tone.
std::vector<int16_t> tone(double freq, size_t samples, double amplitude = 8000,
                          uint32_t rate = 48000, size_t offset = 0);
// The strongest frequency between lo and hi Hz, to 0.1 Hz (Goertzel scan, then refinement).
double dominant_frequency(std::span<const int16_t> pcm, uint32_t rate = 48000, double lo = 50,
                          double hi = 4000);
// Energy at one frequency relative to the total (0..1): how pure a tone is.
double tone_purity(std::span<const int16_t> pcm, double freq, uint32_t rate = 48000);
// RMS envelope in windows of `window` samples.
std::vector<double> envelope(std::span<const int16_t> pcm, size_t window);
// Pearson correlation of two equal-length series.
double correlation(std::span<const double> a, std::span<const double> b);

}  // namespace wzp::codec
