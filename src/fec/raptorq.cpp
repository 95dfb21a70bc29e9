#include "fec/raptorq.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <map>
#include <mutex>

#include "fec/gf256.h"

namespace wzp::fec {
namespace {

// Enc(C, Tuple(isi)) (§5.3.5.3): the XOR of the intermediate symbols the tuple names.
template <class Intermediate>
void enc(const rfc6330::Params& p, uint32_t isi, size_t T, Intermediate&& c, uint8_t* out) {
  bool first = true;
  rfc6330::for_each_column(p, isi, [&](uint32_t col) {
    if (first) {
      std::memcpy(out, c(col), T);
      first = false;
    } else {
      gf256::xor_into(out, c(col), T);
    }
  });
}

}  // namespace

std::shared_ptr<const Plan> encoding_plan(const rfc6330::Params& p) {
  static std::mutex mu;
  static std::map<uint32_t, std::shared_ptr<const Plan>> cache;
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(p.K_prime); it != cache.end()) return it->second;
  }
  std::vector<uint32_t> isis(p.K_prime);
  for (uint32_t i = 0; i < p.K_prime; ++i) isis[i] = i;
  auto plan = std::make_shared<Plan>();
  Solver solver;
  const bool ok = solver.solve(p, isis, *plan);
  assert(ok && "RFC 6330 guarantees the encoding matrix is invertible for every K'");
  (void)ok;
  std::lock_guard lock(mu);
  return cache.emplace(p.K_prime, std::move(plan)).first->second;
}

void RaptorQEncoder::encode(uint32_t K, size_t T, std::span<const uint8_t> source) {
  assert(source.size() == K * T);
  if (K != p_.K || !plan_) {
    p_ = rfc6330::params_for(K);
    plan_ = encoding_plan(p_);
  }
  T_ = T;
  work_.assign(static_cast<size_t>(plan_->rows) * T, 0);  // zeros for LDPC, HDPC and padding
  std::memcpy(&work_[(p_.S + p_.H) * T], source.data(), source.size());
  plan_->apply(work_.data(), T);
}

void RaptorQEncoder::symbol(uint32_t esi, std::span<uint8_t> out) const {
  assert(out.size() >= T_);
  enc(
      p_, rfc6330::isi_of(p_, esi), T_, [&](uint32_t c) { return intermediate(c); }, out.data());
}

void RaptorQDecoder::reset(uint32_t K, size_t T) {
  p_ = rfc6330::params_for(K);
  T_ = T;
  complete_ = false;
  sources_have_ = 0;
  source_.resize(K * T);
  have_source_.assign(K, 0);
  esis_.clear();
  symbols_.clear();
  // Room for every source symbol and as many repairs again (and the padding rows).
  const size_t expect = 2 * static_cast<size_t>(K) + 16;
  esis_.reserve(expect);
  symbols_.reserve(expect * T);
  isis_.reserve(expect + p_.K_prime - K);
}

bool RaptorQDecoder::add(uint32_t esi, std::span<const uint8_t> symbol) {
  if (complete_ || symbol.size() != T_) return false;
  if (std::find(esis_.begin(), esis_.end(), esi) != esis_.end()) return false;
  esis_.push_back(esi);
  symbols_.insert(symbols_.end(), symbol.begin(), symbol.end());
  if (esi < p_.K) {
    std::memcpy(&source_[esi * T_], symbol.data(), T_);
    have_source_[esi] = 1;
    if (++sources_have_ == p_.K) complete_ = true;
  }
  return true;
}

bool RaptorQDecoder::decode() {
  if (complete_) return true;
  if (esis_.size() < p_.K) return false;
  // LT rows: every received symbol, then the padding symbols (known zeros).
  isis_.clear();
  for (uint32_t esi : esis_) isis_.push_back(rfc6330::isi_of(p_, esi));
  for (uint32_t i = p_.K; i < p_.K_prime; ++i) isis_.push_back(i);
  if (!solver_.solve(p_, isis_, plan_)) return false;
  const size_t first_lt = p_.S + p_.H;
  work_.assign(static_cast<size_t>(plan_.rows) * T_, 0);
  std::memcpy(&work_[first_lt * T_], symbols_.data(), symbols_.size());
  plan_.apply(work_.data(), T_);
  for (uint32_t i = 0; i < p_.K; ++i) {
    if (have_source_[i]) continue;
    enc(
        p_, i, T_, [&](uint32_t c) { return &work_[plan_.result[c] * T_]; }, &source_[i * T_]);
    have_source_[i] = 1;
  }
  sources_have_ = p_.K;
  complete_ = true;
  return true;
}

}  // namespace wzp::fec
