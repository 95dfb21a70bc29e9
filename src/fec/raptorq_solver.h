// Solves the RFC 6330 constraint system A * C = D for the intermediate symbols C.
//
// The solver works on the matrix alone and records the symbol operations it would apply to D
// as a Plan; applying the plan to real symbols is a separate, allocation-free step. So an
// encoder computes the plan for a K' once and reuses it for every block, and a decoder reuses
// the solver's buffers from block to block.
//
// Method (inactivation decoding, after RFC 6330 §5.4.2, on bitset rows):
//  1. Binary rows (LDPC and LT) are eliminated over GF(2): repeatedly take the remaining row
//     with the fewest active columns, pivot on one of them and inactivate the others, then
//     clear the pivot column from the other remaining rows. Fill-in lands only in inactive
//     columns, so the binary part stays sparse.
//  2. The HDPC rows (GF(256)) are cleared of every pivot column, which leaves them, with the
//     binary rows that found no pivot, as a small dense system over the inactive columns; it is
//     solved by Gauss-Jordan elimination over GF(256). Too few independent rows: failure.
//  3. Back-substitution gives each pivot row's symbol from the inactive symbols.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "fec/rfc6330.h"

namespace wzp::fec {

struct SymbolOp {
  enum Kind : uint8_t { kXor, kMulAdd, kScale };
  Kind kind;
  uint8_t coef;
  uint32_t dst;
  uint32_t src;
};

struct Plan {
  uint32_t rows = 0;  // symbols the plan works on: S + H + number of LT rows
  std::vector<SymbolOp> ops;
  std::vector<uint32_t> result;  // result[c]: the row whose symbol ends up as C[c]

  // rows_data holds `rows` symbols of T bytes; afterwards C[c] is at result[c].
  void apply(uint8_t* rows_data, size_t T) const;
};

class Solver {
 public:
  // LT rows are for `isis`, in order (row S + H + i is isis[i]). False when they do not
  // determine every intermediate symbol.
  bool solve(const rfc6330::Params& p, std::span<const uint32_t> isis, Plan& plan);

 private:
  void build(const rfc6330::Params& p, std::span<const uint32_t> isis);
  uint64_t* bit_row(size_t r) { return bits_.data() + r * words_; }

  size_t words_ = 0;
  // Binary rows: LDPC rows first, then LT rows. binary_id_[r] is the row's index in D.
  std::vector<uint64_t> bits_;
  std::vector<uint32_t> binary_id_;
  std::vector<uint8_t> hdpc_;  // H dense rows over L columns
  std::vector<uint64_t> active_;
  std::vector<int32_t> pivot_col_;  // per binary row, -1 when not pivoted
  std::vector<uint8_t> is_pivot_col_;
  std::vector<uint32_t> inactive_;
  std::vector<int32_t> inactive_index_;  // column -> index in inactive_, or -1
  std::vector<uint8_t> dense_;           // the phase-2 system, rows x inactive columns
  std::vector<uint32_t> dense_id_;       // D row of each dense row
  std::vector<uint32_t> pivot_order_;
};

}  // namespace wzp::fec
