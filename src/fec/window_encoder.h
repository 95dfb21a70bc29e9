// The sender's half of the sliding-window FEC (window_fec.h): each frame goes out at once as a
// source packet; repair symbols over the last `window` frames follow it, `ratio` of them per
// frame on average (credit carried between frames, so 0.5 is one repair every other frame).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "fec/fec_packet.h"
#include "fec/window_fec.h"

namespace wzp::fec {

struct WindowFecConfig {
  double ratio = 0;     // repair symbols per source frame, 0..4
  uint32_t window = 8;  // frames a repair covers, 1..kMaxWindow
  uint32_t copies = 0;  // > 0: each repair carries copies of the last `copies` frames instead
};

class WindowEncoder {
 public:
  explicit WindowEncoder(const WindowFecConfig& config = {}) { configure(config); }

  void configure(const WindowFecConfig& config);
  // One encoded frame of `codec` captured at ts_ms: its source packet, then its repairs.
  void push(uint32_t ts_ms, std::span<const uint8_t> frame, uint8_t codec, FecSink& sink);

  const WindowFecConfig& config() const { return config_; }
  uint64_t source_bytes() const { return source_bytes_; }
  uint64_t repair_bytes() const { return repair_bytes_; }

 private:
  struct Symbol {
    size_t len = 0;  // header + frame
    std::array<uint8_t, kMaxWindowSymbol> bytes{};
  };
  void emit_repair(FecSink& sink, uint32_t ts_ms, uint8_t codec);
  void emit_copies(FecSink& sink, uint32_t ts_ms, uint8_t codec);
  void send_repair(FecSink& sink, size_t bytes, uint32_t ts_ms, uint8_t codec);

  WindowFecConfig config_;
  uint8_t ratio_code_ = 0;
  std::array<Symbol, kMaxWindow> ring_{};
  uint16_t next_id_ = 0;  // the id the next source gets
  uint32_t have_ = 0;     // sources in the ring (until it fills)
  uint8_t seed_ = 0;
  double credit_ = 0;
  std::vector<uint8_t> packet_;
  uint64_t source_bytes_ = 0, repair_bytes_ = 0;
};

}  // namespace wzp::fec
