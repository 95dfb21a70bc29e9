// RaptorQ (RFC 6330) for one source block: K source symbols of T bytes each. Systematic:
// ESIs 0..K-1 are the source symbols themselves; ESIs from K on are repair symbols.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fec/raptorq_solver.h"
#include "fec/rfc6330.h"

namespace wzp::fec {

// The encoding plan for K' depends on nothing else, so it is computed once per K' and shared.
std::shared_ptr<const Plan> encoding_plan(const rfc6330::Params& p);

class RaptorQEncoder {
 public:
  RaptorQEncoder() = default;
  // source: K * T bytes. Computes the intermediate symbols.
  void encode(uint32_t K, size_t T, std::span<const uint8_t> source);
  // Writes encoding symbol `esi` (source or repair) into out (T bytes).
  void symbol(uint32_t esi, std::span<uint8_t> out) const;
  const rfc6330::Params& params() const { return p_; }

 private:
  const uint8_t* intermediate(uint32_t c) const { return &work_[plan_->result[c] * T_]; }

  rfc6330::Params p_{};
  size_t T_ = 0;
  std::shared_ptr<const Plan> plan_;
  std::vector<uint8_t> work_;
};

// Collects symbols of one block and recovers the source symbols. reset() reuses every buffer,
// so a decoder kept across blocks of the same or smaller size allocates nothing.
class RaptorQDecoder {
 public:
  void reset(uint32_t K, size_t T);
  // False for a duplicate ESI, a wrong size, or once the block is complete.
  bool add(uint32_t esi, std::span<const uint8_t> symbol);
  // Tries to recover the missing source symbols; true when all K are known.
  bool decode();
  bool complete() const { return complete_; }
  bool has_source(uint32_t i) const { return have_source_[i] != 0; }
  std::span<const uint8_t> source(uint32_t i) const { return {&source_[i * T_], T_}; }
  uint32_t received() const { return static_cast<uint32_t>(esis_.size()); }
  uint32_t K() const { return p_.K; }

 private:
  rfc6330::Params p_{};
  size_t T_ = 0;
  bool complete_ = false;
  uint32_t sources_have_ = 0;
  std::vector<uint8_t> source_;       // K * T
  std::vector<uint8_t> have_source_;  // K flags
  std::vector<uint32_t> esis_;        // received ESIs, in arrival order
  std::vector<uint8_t> symbols_;      // received symbols, same order
  std::vector<uint32_t> isis_;
  std::vector<uint8_t> work_;
  Solver solver_;
  Plan plan_;
};

}  // namespace wzp::fec
