#include "codec/audio_analysis.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "codec/vad.h"

namespace wzp::codec {
namespace {

// Power of one frequency bin (Goertzel), normalised by length.
double goertzel(std::span<const int16_t> pcm, double freq, uint32_t rate) {
  const double w = 2 * std::numbers::pi * freq / rate;
  const double c = 2 * std::cos(w);
  double s1 = 0, s2 = 0;
  for (int16_t x : pcm) {
    const double s0 = x + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = s1 * s1 + s2 * s2 - c * s1 * s2;
  return power / (static_cast<double>(pcm.size()) * pcm.size());
}

}  // namespace

std::vector<int16_t> tone(double freq, size_t samples, double amplitude, uint32_t rate,
                          size_t offset) {
  std::vector<int16_t> out(samples);
  for (size_t i = 0; i < samples; ++i) {
    out[i] = static_cast<int16_t>(
        std::lround(amplitude * std::sin(2 * std::numbers::pi * freq * (i + offset) / rate)));
  }
  return out;
}

double dominant_frequency(std::span<const int16_t> pcm, uint32_t rate, double lo, double hi) {
  double best = lo, best_p = -1;
  for (double f = lo; f <= hi; f += 5) {
    const double p = goertzel(pcm, f, rate);
    if (p > best_p) best_p = p, best = f;
  }
  for (double step : {1.0, 0.1}) {
    const double from = best - 10 * step, to = best + 10 * step;
    for (double f = from; f <= to; f += step) {
      const double p = goertzel(pcm, f, rate);
      if (p > best_p) best_p = p, best = f;
    }
  }
  return best;
}

double tone_purity(std::span<const int16_t> pcm, double freq, uint32_t rate) {
  const double r = rms(pcm);
  if (r == 0) return 0;
  // A full-scale bin power of a sine with amplitude A is A^2/4; RMS^2 is A^2/2.
  return std::min(1.0, 2 * goertzel(pcm, freq, rate) / (r * r));
}

std::vector<double> envelope(std::span<const int16_t> pcm, size_t window) {
  std::vector<double> out;
  for (size_t i = 0; i + window <= pcm.size(); i += window)
    out.push_back(rms(pcm.subspan(i, window)));
  return out;
}

double correlation(std::span<const double> a, std::span<const double> b) {
  const size_t n = std::min(a.size(), b.size());
  if (n < 2) return 0;
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= n, mb /= n;
  double cov = 0, va = 0, vb = 0;
  for (size_t i = 0; i < n; ++i) {
    cov += (a[i] - ma) * (b[i] - mb);
    va += (a[i] - ma) * (a[i] - ma);
    vb += (b[i] - mb) * (b[i] - mb);
  }
  return va > 0 && vb > 0 ? cov / std::sqrt(va * vb) : 0;
}

}  // namespace wzp::codec
