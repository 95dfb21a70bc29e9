#include "fec/window_decoder.h"

#include <algorithm>
#include <cstring>

#include "fec/gf256.h"
#include "proto/bytes.h"
#include "proto/codec_id.h"

namespace wzp::fec {
namespace {

constexpr size_t kRowWidth = WindowDecoder::kHistory + kMaxWindowSymbol;

}  // namespace

WindowDecoder::WindowDecoder()
    : sources_(kHistory), equations_(kMaxEquations), matrix_(kMaxEquations * kRowWidth) {}

WindowDecoder::Source* WindowDecoder::known(uint64_t id) {
  Source& s = sources_[id % kHistory];
  return s.have && s.id == id ? &s : nullptr;
}

void WindowDecoder::add_source(uint64_t id, std::span<const uint8_t> symbol) {
  Source& s = sources_[id % kHistory];
  s.have = true;
  s.id = id;
  s.len = symbol.size();
  std::memcpy(s.bytes.data(), symbol.data(), symbol.size());
}

void WindowDecoder::on_packet(const FecPacket& p, FrameSink& sink) {
  const uint16_t wire_id = static_cast<uint16_t>(p.block_id << 8 | p.esi);
  const uint64_t id = ids_.extend(wire_id);
  const bool too_old = started_ && id + kHistory <= ids_.highest();
  ids_.update(id);
  started_ = true;
  if (!p.is_repair) {
    if (p.payload.size() > kMaxWindowFrame) {
      ++stats_.malformed;
      return;
    }
    if (!too_old && known(id)) {
      ++stats_.duplicates;  // recovered before it came, or sent twice
      return;
    }
    ++stats_.frames_direct;
    if (!too_old) {
      proto::store_be32(symbol_.data(), p.timestamp_ms);
      symbol_[4] = p.codec;
      proto::store_be16(symbol_.data() + 5, static_cast<uint16_t>(p.payload.size()));
      std::memcpy(symbol_.data() + kWindowSymbolHeader, p.payload.data(), p.payload.size());
      add_source(id, std::span(symbol_).first(kWindowSymbolHeader + p.payload.size()));
    }
    sink.on_frame(p.timestamp_ms, p.payload, false, p.codec);
    if (!too_old) solve(sink);
    return;
  }
  if (p.payload.size() >= kWindowRepairInfo && p.payload[0] == 0) {
    if (too_old) {
      ++stats_.repairs_expired;
      return;
    }
    on_copies(id, p.payload, sink);
    return;
  }
  if (p.payload.size() < kWindowRepairInfo + kWindowSymbolHeader ||
      p.payload.size() > kWindowRepairInfo + kMaxWindowSymbol || p.payload[0] == 0 ||
      p.payload[0] > kMaxWindow) {
    ++stats_.malformed;
    return;
  }
  const uint32_t w = p.payload[0];
  if (too_old || id + 1 < w) {
    ++stats_.repairs_expired;
    return;
  }
  bool useful = false;
  for (uint64_t s = id + 1 - w; s <= id && !useful; ++s) useful = !known(s);
  if (!useful) {
    ++stats_.repairs_useless;
    return;
  }
  // A free slot, or the oldest repair's.
  Equation* slot = nullptr;
  for (auto& e : equations_) {
    if (!e.used) {
      slot = &e;
      break;
    }
    if (!slot || e.end < slot->end) slot = &e;
  }
  if (slot->used) ++stats_.repairs_expired;
  slot->used = true;
  slot->end = id;
  slot->w = w;
  slot->seed = p.payload[1];
  slot->T = p.payload.size() - kWindowRepairInfo;
  std::memcpy(slot->bytes.data(), p.payload.data() + kWindowRepairInfo, slot->T);
  solve(sink);
}

void WindowDecoder::on_copies(uint64_t end, std::span<const uint8_t> payload, FrameSink& sink) {
  // The whole packet is checked before any of it is used: a copy that does not parse makes the
  // packet malformed, not half taken.
  const size_t n = payload[1];
  const auto in = payload.subspan(kWindowRepairInfo);
  std::array<std::span<const uint8_t>, kMaxWindow> copies;
  // A count of 0 or over kMaxWindow, or copies of frames before the stream's first.
  if (n == 0 || n > kMaxWindow || end + 1 < n) {
    ++stats_.malformed;
    return;
  }
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    if (in.size() - at < kWindowSymbolHeader) break;
    const size_t len = proto::load_be16(in.data() + at + 5);
    if (len > kMaxWindowFrame || in.size() - at - kWindowSymbolHeader < len ||
        !proto::codec_from_wire(in[at + 4])) {
      break;
    }
    copies[i] = in.subspan(at, kWindowSymbolHeader + len);
    at += kWindowSymbolHeader + len;
  }
  if (at != in.size() || copies[n - 1].empty()) {  // a copy that did not parse, or bytes after
    ++stats_.malformed;
    return;
  }
  bool useful = false;
  for (size_t i = n; i-- > 0;) {  // oldest first, the order they were captured in
    const uint64_t id = end - i;
    if (id + kHistory <= ids_.highest() || known(id)) continue;
    const auto sym = copies[i];
    add_source(id, sym);
    useful = true;
    ++stats_.frames_recovered;
    sink.on_frame(proto::load_be32(sym.data()), sym.subspan(kWindowSymbolHeader), true, sym[4]);
  }
  if (!useful) {
    ++stats_.repairs_useless;
    return;
  }
  solve(sink);
}

void WindowDecoder::forget_old() {
  const uint64_t newest = ids_.highest();
  for (auto& e : equations_) {
    if (e.used && e.end + 1 - e.w + kHistory <= newest) {
      e.used = false;
      ++stats_.repairs_expired;
    }
  }
}

void WindowDecoder::solve(FrameSink& sink) {
  forget_old();
  // The frames still missing that some repair covers.
  size_t u = 0;
  size_t t_max = 0;
  for (auto& e : equations_) {
    if (!e.used) continue;
    bool any = false;
    for (uint64_t s = e.end + 1 - e.w; s <= e.end; ++s) {
      if (known(s)) continue;
      any = true;
      if (std::find(unknown_.begin(), unknown_.begin() + static_cast<std::ptrdiff_t>(u), s) ==
          unknown_.begin() + static_cast<std::ptrdiff_t>(u)) {
        unknown_[u++] = s;
      }
    }
    if (!any)
      e.used = false;  // everything it covers is known now
    else
      t_max = std::max(t_max, e.T);
  }
  if (u == 0) return;
  // One row per repair: its coefficients over the unknowns, and its symbol less the known
  // frames' share.
  const size_t width = u + t_max;
  size_t m = 0;
  for (auto& e : equations_) {
    if (!e.used) continue;
    uint8_t* row = &matrix_[m * width];
    std::memset(row, 0, width);
    std::memcpy(row + u, e.bytes.data(), e.T);
    bool consistent = true;
    for (uint32_t j = 0; j < e.w; ++j) {
      const uint64_t s = e.end + 1 - e.w + j;
      const uint8_t c = window_coefficient(static_cast<uint16_t>(e.end), e.seed, j);
      if (const Source* k = known(s)) {
        if (k->len > e.T)
          consistent = false;
        else
          gf256::muladd_into(row + u, k->bytes.data(), c, k->len);
      } else {
        const auto col =
            std::find(unknown_.begin(), unknown_.begin() + static_cast<std::ptrdiff_t>(u), s) -
            unknown_.begin();
        row[col] = c;
      }
    }
    if (!consistent) {  // a frame longer than the repair's symbols: not from an honest sender
      e.used = false;
      ++stats_.malformed;
      continue;
    }
    ++m;
  }
  // Gauss-Jordan elimination.
  std::array<int, kMaxEquations> pivot_col{};
  size_t rank = 0;
  for (size_t col = 0; col < u && rank < m; ++col) {
    size_t r = rank;
    while (r < m && matrix_[r * width + col] == 0) ++r;
    if (r == m) continue;
    if (r != rank)
      std::swap_ranges(&matrix_[r * width], &matrix_[r * width] + width, &matrix_[rank * width]);
    uint8_t* prow = &matrix_[rank * width];
    gf256::scale(prow, gf256::inv(prow[col]), width);
    for (size_t o = 0; o < m; ++o) {
      if (o == rank || matrix_[o * width + col] == 0) continue;
      gf256::muladd_into(&matrix_[o * width], prow, matrix_[o * width + col], width);
    }
    pivot_col[rank++] = static_cast<int>(col);
  }
  // A pivot row with no other unknown left in it determines its frame.
  for (size_t r = 0; r < rank; ++r) {
    const uint8_t* row = &matrix_[r * width];
    bool alone = true;
    for (size_t col = 0; col < u && alone; ++col) {
      alone = static_cast<int>(col) == pivot_col[r] || row[col] == 0;
    }
    if (!alone) continue;
    const uint8_t* sym = row + u;
    const uint32_t ts = proto::load_be32(sym);
    const uint8_t codec = sym[4];
    const size_t len = proto::load_be16(sym + 5);
    const uint64_t id = unknown_[static_cast<size_t>(pivot_col[r])];
    if (kWindowSymbolHeader + len > t_max || !proto::codec_from_wire(codec)) {
      ++stats_.malformed;
      add_source(id, std::span(sym, kWindowSymbolHeader));  // known, so it is not tried again
      continue;
    }
    add_source(id, std::span(sym, kWindowSymbolHeader + len));
    ++stats_.frames_recovered;
    sink.on_frame(ts, std::span(sym + kWindowSymbolHeader, len), true, codec);
  }
}

}  // namespace wzp::fec
