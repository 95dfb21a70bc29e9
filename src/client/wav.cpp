#include "client/wav.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace wzp::client {
namespace {

void put32(std::ofstream& o, uint32_t v) { o.write(reinterpret_cast<const char*>(&v), 4); }
void put16(std::ofstream& o, uint16_t v) { o.write(reinterpret_cast<const char*>(&v), 2); }

}  // namespace

WavWriter::WavWriter(const std::string& path, uint32_t rate)
    : out_(path, std::ios::binary), rate_(rate) {
  if (!out_) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  header();
}

void WavWriter::header() {
  out_.seekp(0);
  out_.write("RIFF", 4);
  put32(out_, static_cast<uint32_t>(36 + samples_ * 2));
  out_.write("WAVEfmt ", 8);
  put32(out_, 16);
  put16(out_, 1);  // PCM
  put16(out_, 1);  // mono
  put32(out_, rate_);
  put32(out_, rate_ * 2);
  put16(out_, 2);
  put16(out_, 16);
  out_.write("data", 4);
  put32(out_, static_cast<uint32_t>(samples_ * 2));
}

void WavWriter::write(const int16_t* s, size_t n) {
  out_.seekp(0, std::ios::end);
  out_.write(reinterpret_cast<const char*>(s), static_cast<std::streamsize>(n * 2));
  samples_ += n;
}

WavWriter::~WavWriter() {
  header();
  out_.flush();
}

WavData read_wav(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  std::vector<char> all((std::istreambuf_iterator<char>(in)), {});
  auto u32 = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, &all[at], 4);
    return v;
  };
  auto u16 = [&](size_t at) {
    uint16_t v;
    std::memcpy(&v, &all[at], 2);
    return v;
  };
  if (all.size() < 12 || std::memcmp(all.data(), "RIFF", 4) || std::memcmp(&all[8], "WAVE", 4)) {
    throw std::runtime_error(path + " is not a WAV file");
  }
  WavData w;
  uint16_t bits = 0;
  for (size_t at = 12; at + 8 <= all.size();) {
    const uint32_t len = u32(at + 4);
    const size_t body = at + 8;
    if (body + len > all.size()) throw std::runtime_error(path + " is truncated");
    if (!std::memcmp(&all[at], "fmt ", 4) && len >= 16) {
      if (u16(body) != 1) throw std::runtime_error(path + " is not PCM");
      w.channels = u16(body + 2);
      w.rate = u32(body + 4);
      bits = u16(body + 14);
    } else if (!std::memcmp(&all[at], "data", 4)) {
      if (bits != 16 || w.channels == 0) throw std::runtime_error(path + " is not 16-bit PCM");
      const size_t frames = len / (2 * w.channels);
      w.mono.resize(frames);
      for (size_t f = 0; f < frames; ++f) {
        int32_t sum = 0;
        for (uint16_t c = 0; c < w.channels; ++c) {
          int16_t s;
          std::memcpy(&s, &all[body + (f * w.channels + c) * 2], 2);
          sum += s;
        }
        w.mono[f] = static_cast<int16_t>(sum / w.channels);
      }
      return w;
    }
    at = body + len + (len & 1);
  }
  throw std::runtime_error(path + " has no audio data");
}

}  // namespace wzp::client
