// wzp-client --sweep: the same call over the same simulated jittery, lossy link, once per
// jitter-buffer setting (a fixed playout delay from 20 ms up, then the adaptive buffer), to
// show what each millisecond of delay buys in concealment. Deterministic (fixed seeds), and
// written out as a table and an SVG chart.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace wzp::client {

struct SweepOptions {
  uint32_t jitter_ms = 80;  // uniform extra delay per datagram, 0..jitter_ms (reorders)
  double loss = 0.02;       // random loss
  uint32_t seconds = 30;    // of call per setting
  std::vector<uint32_t> fixed_delays_ms = {20, 40, 60, 80, 100, 120, 160, 200, 300};
};

struct SweepPoint {
  std::string label;     // "fixed 80 ms" or "adaptive"
  double delay_ms = 0;   // mean playout delay of the jitter buffer
  double concealed = 0;  // share of playout slots concealed, percent
  uint64_t late = 0;     // frames that arrived after their slot
};

std::vector<SweepPoint> run_jitter_sweep(
    const SweepOptions& o, const std::function<void(const SweepPoint&)>& progress = {});
// A self-contained SVG: concealment against delay, the adaptive buffer marked.
std::string sweep_svg(const std::vector<SweepPoint>& points, const SweepOptions& o);

}  // namespace wzp::client
