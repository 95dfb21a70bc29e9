#include "client/jitter_sweep.h"

#include <algorithm>
#include <cstdio>

#include "client/sim_call.h"

namespace wzp::client {
namespace {

SweepPoint run_one(const SweepOptions& o, const CallDecoderConfig& dc, std::string label) {
  CallEncoderConfig ec;
  ec.tier = proto::Tier::kGood;
  ec.adaptive = false;
  ec.silence_suppression = false;
  SimCall call(ec, dc);
  auto path = SimLink::clean();
  path.loss = o.loss;
  path.jitter_ms = o.jitter_ms;
  path.seed = 11;
  call.link.set_path(path);
  double delay_sum = 0;
  uint64_t samples = 0;
  call.on_tick = [&](uint32_t t) {
    if (t < 100 || t >= o.seconds * 50) return;  // steady state: skip the first 2 s
    delay_sum += call.decoder->jitter_stats().current_delay_ms;
    ++samples;
  };
  call.run(o.seconds);
  SweepPoint p;
  p.label = std::move(label);
  p.delay_ms = samples ? delay_sum / static_cast<double>(samples) : 0;
  p.concealed = 100.0 * (1 - call.filled());
  p.late = call.decoder->jitter_stats().late;
  return p;
}

}  // namespace

std::vector<SweepPoint> run_jitter_sweep(const SweepOptions& o,
                                         const std::function<void(const SweepPoint&)>& progress) {
  std::vector<SweepPoint> out;
  for (uint32_t d : o.fixed_delays_ms) {
    CallDecoderConfig dc;
    dc.jitter.min_delay_ms = d;
    dc.jitter.max_delay_ms = d;
    out.push_back(run_one(o, dc, "fixed " + std::to_string(d) + " ms"));
    if (progress) progress(out.back());
  }
  out.push_back(run_one(o, CallDecoderConfig{}, "adaptive"));
  if (progress) progress(out.back());
  return out;
}

std::string sweep_svg(const std::vector<SweepPoint>& points, const SweepOptions& o) {
  const double w = 640, h = 400, left = 60, right = 20, top = 40, bottom = 50;
  double max_x = 100, max_y = 5;
  for (const auto& p : points) {
    max_x = std::max(max_x, p.delay_ms * 1.1);
    max_y = std::max(max_y, p.concealed * 1.1);
  }
  const auto X = [&](double v) { return left + v / max_x * (w - left - right); };
  const auto Y = [&](double v) { return h - bottom - v / max_y * (h - top - bottom); };
  std::string s;
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
      "fill=\"white\"/>\n<text x=\"%g\" y=\"22\" font-size=\"14\">Jitter buffer: delay "
      "against concealment (%u ms jitter, %.1f %% loss)</text>\n",
      w, h, left, o.jitter_ms, o.loss * 100);
  s += buf;
  // Axes with ticks.
  std::snprintf(buf, sizeof buf,
                "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n"
                "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n",
                left, Y(0), w - right, Y(0), left, Y(0), left, top);
  s += buf;
  for (int i = 0; i <= 5; ++i) {
    const double xv = max_x * i / 5, yv = max_y * i / 5;
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%.0f</text>\n"
                  "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%.1f</text>\n",
                  X(xv), Y(0) + 16, xv, left - 6, Y(yv) + 4, yv);
    s += buf;
  }
  std::snprintf(buf, sizeof buf,
                "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">mean playout delay (ms)</text>\n"
                "<text x=\"14\" y=\"%g\" transform=\"rotate(-90 14 %g)\" "
                "text-anchor=\"middle\">concealed slots (%%)</text>\n",
                (left + w - right) / 2, h - 12, (top + h - bottom) / 2, (top + h - bottom) / 2);
  s += buf;
  // The fixed settings as a line, the adaptive buffer as a marked point.
  std::string path;
  for (const auto& p : points) {
    if (p.label == "adaptive") continue;
    std::snprintf(buf, sizeof buf, "%s%g,%g", path.empty() ? "" : " ", X(p.delay_ms),
                  Y(p.concealed));
    path += buf;
  }
  s += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"" + path + "\"/>\n";
  for (const auto& p : points) {
    const bool adaptive = p.label == "adaptive";
    std::snprintf(buf, sizeof buf,
                  "<circle cx=\"%g\" cy=\"%g\" r=\"%d\" fill=\"%s\"/>\n"
                  "<text x=\"%g\" y=\"%g\" font-size=\"10\">%s</text>\n",
                  X(p.delay_ms), Y(p.concealed), adaptive ? 6 : 3, adaptive ? "#d62728" : "#1f77b4",
                  X(p.delay_ms) + 6, Y(p.concealed) - 6, p.label.c_str());
    s += buf;
  }
  s += "</svg>\n";
  return s;
}

}  // namespace wzp::client
