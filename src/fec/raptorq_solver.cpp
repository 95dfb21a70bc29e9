#include "fec/raptorq_solver.h"

#include <algorithm>
#include <bit>

#include "fec/gf256.h"

namespace wzp::fec {

void Plan::apply(uint8_t* d, size_t T) const {
  for (const SymbolOp& op : ops) {
    uint8_t* dst = d + static_cast<size_t>(op.dst) * T;
    switch (op.kind) {
      case SymbolOp::kXor:
        gf256::xor_into(dst, d + static_cast<size_t>(op.src) * T, T);
        break;
      case SymbolOp::kMulAdd:
        gf256::muladd_into(dst, d + static_cast<size_t>(op.src) * T, op.coef, T);
        break;
      case SymbolOp::kScale:
        gf256::scale(dst, op.coef, T);
        break;
    }
  }
}

void Solver::build(const rfc6330::Params& p, std::span<const uint32_t> isis) {
  const size_t L = p.L;
  words_ = (L + 63) / 64;
  const size_t binary_rows = p.S + isis.size();
  bits_.assign(binary_rows * words_, 0);
  binary_id_.resize(binary_rows);
  auto set = [&](size_t r, size_t c) { bit_row(r)[c / 64] |= uint64_t{1} << (c % 64); };

  // LDPC rows (§5.3.3.3), D rows 0..S-1.
  for (uint32_t i = 0; i < p.B; ++i) {
    const uint32_t a = 1 + i / p.S;
    uint32_t b = i % p.S;
    set(b, i);
    b = (b + a) % p.S;
    set(b, i);
    b = (b + a) % p.S;
    set(b, i);
  }
  for (uint32_t i = 0; i < p.S; ++i) {
    set(i, p.B + i);
    set(i, p.W + i % p.P);
    set(i, p.W + (i + 1) % p.P);
    binary_id_[i] = i;
  }
  // LT rows, D rows S+H+i.
  for (size_t i = 0; i < isis.size(); ++i) {
    const size_t r = p.S + i;
    binary_id_[r] = static_cast<uint32_t>(p.S + p.H + i);
    rfc6330::for_each_column(p, isis[i], [&](uint32_t c) { set(r, c); });
  }
  // HDPC rows (§5.3.3.3): MT x GAMMA built column by column from the right, then identity.
  hdpc_.assign(static_cast<size_t>(p.H) * L, 0);
  auto h = [&](uint32_t i, uint32_t j) -> uint8_t& { return hdpc_[i * L + j]; };
  const uint32_t last = p.K_prime + p.S - 1;
  for (uint32_t i = 0; i < p.H; ++i) h(i, last) = gf256::exp(i);
  for (uint32_t j = last; j-- > 0;) {
    for (uint32_t i = 0; i < p.H; ++i) h(i, j) = gf256::mul(2, h(i, j + 1));
    const uint32_t i1 = rfc6330::rand(j + 1, 6, p.H);
    const uint32_t i2 = (i1 + rfc6330::rand(j + 1, 7, p.H - 1) + 1) % p.H;
    h(i1, j) ^= 1;
    h(i2, j) ^= 1;
  }
  for (uint32_t i = 0; i < p.H; ++i) h(i, p.K_prime + p.S + i) = 1;
}

bool Solver::solve(const rfc6330::Params& p, std::span<const uint32_t> isis, Plan& plan) {
  build(p, isis);
  const size_t L = p.L;
  const size_t nb = p.S + isis.size();
  plan.rows = static_cast<uint32_t>(p.S + p.H + isis.size());
  plan.ops.clear();
  // Audio-sized blocks: room for the worst elimination up front, so that a solver and plan
  // reused from block to block never grow again.
  if (L <= 256) {
    plan.ops.reserve(L * L);
    dense_.reserve((p.H + nb) * L);
    dense_id_.reserve(p.H + nb);
    inactive_.reserve(L);
    pivot_order_.reserve(nb);
  }
  plan.result.assign(L, 0);

  // ---- Phase 1: binary elimination with inactivation ----
  active_.assign(words_, ~uint64_t{0});
  if (L % 64) active_[words_ - 1] = (uint64_t{1} << (L % 64)) - 1;
  pivot_col_.assign(nb, -1);
  is_pivot_col_.assign(L, 0);
  pivot_order_.clear();
  for (;;) {
    size_t best = nb;
    int best_w = 0;
    for (size_t r = 0; r < nb; ++r) {
      if (pivot_col_[r] >= 0) continue;
      const uint64_t* row = bit_row(r);
      int w = 0;
      for (size_t k = 0; k < words_ && (best == nb || w < best_w); ++k) {
        w += std::popcount(row[k] & active_[k]);
      }
      if (w > 0 && (best == nb || w < best_w)) {
        best = r;
        best_w = w;
        if (w == 1) break;
      }
    }
    if (best == nb) break;
    uint64_t* prow = bit_row(best);
    int col = -1;
    for (size_t k = 0; k < words_; ++k) {
      uint64_t m = prow[k] & active_[k];
      if (m == 0) continue;
      if (col < 0) {
        col = static_cast<int>(k * 64 + std::countr_zero(m));
        m &= m - 1;
      }
      active_[k] &= ~m;  // inactivate the row's other active columns
    }
    active_[col / 64] &= ~(uint64_t{1} << (col % 64));
    pivot_col_[best] = col;
    is_pivot_col_[col] = 1;
    pivot_order_.push_back(static_cast<uint32_t>(best));
    const size_t cw = col / 64;
    const uint64_t cbit = uint64_t{1} << (col % 64);
    for (size_t r = 0; r < nb; ++r) {
      if (r == best || pivot_col_[r] >= 0) continue;
      uint64_t* row = bit_row(r);
      if (!(row[cw] & cbit)) continue;
      for (size_t k = 0; k < words_; ++k) row[k] ^= prow[k];
      plan.ops.push_back({SymbolOp::kXor, 1, binary_id_[r], binary_id_[best]});
    }
  }

  // ---- Phase 2: the dense system over the inactive columns ----
  inactive_.clear();
  inactive_index_.assign(L, -1);
  for (uint32_t c = 0; c < L; ++c) {
    if (!is_pivot_col_[c]) {
      inactive_index_[c] = static_cast<int32_t>(inactive_.size());
      inactive_.push_back(c);
    }
  }
  const size_t u = inactive_.size();
  size_t leftovers = 0;
  for (size_t r = 0; r < nb; ++r) leftovers += pivot_col_[r] < 0;
  const size_t dense_rows = p.H + leftovers;
  if (dense_rows < u) return false;
  dense_.assign(dense_rows * u, 0);
  dense_id_.resize(dense_rows);
  auto dense = [&](size_t r, size_t k) -> uint8_t& { return dense_[r * u + k]; };

  for (uint32_t i = 0; i < p.H; ++i) {
    uint8_t* hrow = &hdpc_[i * L];
    const uint32_t hid = p.S + i;
    dense_id_[i] = hid;
    // Clear each pivot column: hrow ^= coef * pivot row, whose other bits are inactive.
    for (uint32_t pr : pivot_order_) {
      const uint32_t c = static_cast<uint32_t>(pivot_col_[pr]);
      const uint8_t coef = hrow[c];
      if (coef == 0) continue;
      hrow[c] = 0;
      const uint64_t* prow = bit_row(pr);
      for (size_t k = 0; k < words_; ++k) {
        for (uint64_t m = prow[k]; m; m &= m - 1) {
          const size_t col = k * 64 + std::countr_zero(m);
          if (col != c) hrow[col] ^= coef;
        }
      }
      plan.ops.push_back({SymbolOp::kMulAdd, coef, hid, binary_id_[pr]});
    }
    for (size_t k = 0; k < u; ++k) dense(i, k) = hrow[inactive_[k]];
  }
  size_t next = p.H;
  for (size_t r = 0; r < nb; ++r) {
    if (pivot_col_[r] >= 0) continue;
    dense_id_[next] = binary_id_[r];
    const uint64_t* row = bit_row(r);
    for (size_t k = 0; k < u; ++k) {
      const uint32_t c = inactive_[k];
      dense(next, k) = row[c / 64] >> (c % 64) & 1;
    }
    ++next;
  }
  // Gauss-Jordan: column k's pivot ends in row k (rows are swapped by exchanging ids).
  for (size_t k = 0; k < u; ++k) {
    size_t piv = k;
    while (piv < dense_rows && dense(piv, k) == 0) ++piv;
    if (piv == dense_rows) return false;
    if (piv != k) {
      std::swap_ranges(&dense(piv, 0), &dense(piv, 0) + u, &dense(k, 0));
      std::swap(dense_id_[piv], dense_id_[k]);
    }
    const uint8_t pv = dense(k, k);
    if (pv != 1) {
      const uint8_t iv = gf256::inv(pv);
      for (size_t j = k; j < u; ++j) dense(k, j) = gf256::mul(dense(k, j), iv);
      plan.ops.push_back({SymbolOp::kScale, iv, dense_id_[k], dense_id_[k]});
    }
    for (size_t r = 0; r < dense_rows; ++r) {
      const uint8_t f = r == k ? 0 : dense(r, k);
      if (f == 0) continue;
      for (size_t j = k; j < u; ++j) dense(r, j) ^= gf256::mul(f, dense(k, j));
      plan.ops.push_back(
          {f == 1 ? SymbolOp::kXor : SymbolOp::kMulAdd, f, dense_id_[r], dense_id_[k]});
    }
  }
  for (size_t k = 0; k < u; ++k) plan.result[inactive_[k]] = dense_id_[k];

  // ---- Phase 3: back-substitution into the pivot rows ----
  for (uint32_t pr : pivot_order_) {
    const uint32_t c = static_cast<uint32_t>(pivot_col_[pr]);
    const uint64_t* row = bit_row(pr);
    for (size_t k = 0; k < words_; ++k) {
      for (uint64_t m = row[k]; m; m &= m - 1) {
        const size_t col = k * 64 + std::countr_zero(m);
        if (col != c) plan.ops.push_back({SymbolOp::kXor, 1, binary_id_[pr], plan.result[col]});
      }
    }
    plan.result[c] = binary_id_[pr];
  }
  return true;
}

}  // namespace wzp::fec
