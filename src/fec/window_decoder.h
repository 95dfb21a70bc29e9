// The receiver's half of the sliding-window FEC (window_fec.h): source frames are handed on the
// moment they arrive; a lost frame is handed on as soon as the repairs that cover it, with the
// frames already known, determine it (Gaussian elimination over GF(256) on the missing frames
// of the last kHistory). Repairs that can no longer help are forgotten.
//
// Bounded whatever the sender does: kHistory source symbols and kMaxEquations repairs, each
// at most kMaxWindowSymbol bytes, allocated once (about 150 KB per stream).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "fec/fec_decoder.h"
#include "fec/fec_packet.h"
#include "fec/window_fec.h"
#include "proto/seq.h"

namespace wzp::fec {

struct WindowDecoderStats {
  uint64_t frames_direct = 0;
  uint64_t frames_recovered = 0;
  uint64_t duplicates = 0;
  uint64_t malformed = 0;        // repairs that do not parse or contradict known frames
  uint64_t repairs_useless = 0;  // covered only frames already known
  uint64_t repairs_expired = 0;  // dropped with frames still missing (too old, or no room)
};

class WindowDecoder {
 public:
  static constexpr uint32_t kHistory = 64;       // source ids remembered
  static constexpr uint32_t kMaxEquations = 48;  // repairs held at once

  WindowDecoder();
  void on_packet(const FecPacket& packet, FrameSink& sink);
  const WindowDecoderStats& stats() const { return stats_; }

 private:
  struct Source {
    bool have = false;
    uint64_t id = 0;
    size_t len = 0;
    std::array<uint8_t, kMaxWindowSymbol> bytes{};
  };
  struct Equation {
    bool used = false;
    uint64_t end = 0;
    uint32_t w = 0;
    uint8_t seed = 0;
    size_t T = 0;
    std::array<uint8_t, kMaxWindowSymbol> bytes{};
  };

  Source* known(uint64_t id);
  void add_source(uint64_t id, std::span<const uint8_t> symbol);
  // A repair of copies ([0][n] then n symbols): each copy not yet known is a frame recovered.
  void on_copies(uint64_t end, std::span<const uint8_t> payload, FrameSink& sink);
  void solve(FrameSink& sink);
  void forget_old();

  proto::SeqExtender ids_;
  bool started_ = false;
  std::vector<Source> sources_;      // kHistory, by id mod kHistory
  std::vector<Equation> equations_;  // kMaxEquations
  // Elimination scratch: rows of [coefficients over the unknowns | right-hand side].
  std::vector<uint8_t> matrix_;
  std::array<uint64_t, kHistory> unknown_{};
  std::array<uint8_t, kMaxWindowSymbol> symbol_{};
  WindowDecoderStats stats_;
};

}  // namespace wzp::fec
