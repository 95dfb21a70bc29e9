#include "codec/resample.h"

#include <speex/speex_resampler.h>

#include <memory>
#include <stdexcept>

namespace wzp::codec {

std::vector<int16_t> resample(std::span<const int16_t> in, uint32_t from, uint32_t to) {
  if (from == to) return {in.begin(), in.end()};
  int err = 0;
  std::unique_ptr<SpeexResamplerState, void (*)(SpeexResamplerState*)> r(
      speex_resampler_init(1, from, to, 8, &err), speex_resampler_destroy);
  if (!r || err) throw std::runtime_error("cannot resample from " + std::to_string(from) + " Hz");
  speex_resampler_skip_zeros(r.get());
  std::vector<int16_t> out(static_cast<size_t>(in.size() * static_cast<double>(to) / from) + 64);
  spx_uint32_t in_len = static_cast<spx_uint32_t>(in.size());
  spx_uint32_t out_len = static_cast<spx_uint32_t>(out.size());
  speex_resampler_process_int(r.get(), 0, in.data(), &in_len, out.data(), &out_len);
  out.resize(out_len);
  return out;
}

}  // namespace wzp::codec
