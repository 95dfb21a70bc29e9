#include "chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace wzp::bench {
namespace {

constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr size_t kNumColors = std::size(kColors);
constexpr const char* kDashes[] = {"none", "7 3", "2 3", "10 3 2 3", "4 4"};
constexpr size_t kNumDashes = std::size(kDashes);

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::round(v * 10) / 10);
  return buf;
}

}  // namespace

std::string line_chart(const std::vector<Series>& series, const std::string& title,
                       const ChartAxes& axes) {
  const double w = 860, h = 320, l = 90, r = 250, t = 30, b = 40;
  size_t max_len = 1;
  for (const auto& s : series) max_len = std::max(max_len, s.values.size());
  const auto X = [&](double i) { return l + i / static_cast<double>(max_len) * (w - l - r); };
  const auto Y = [&](double v) {
    return h - b - std::clamp(v, 0.0, axes.y_max) / axes.y_max * (h - t - b);
  };
  std::string s;
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "<svg viewBox=\"0 0 %g %g\" width=\"100%%\" xmlns=\"http://www.w3.org/2000/svg\" "
                "font-family=\"sans-serif\" font-size=\"12\"><text x=\"%g\" y=\"18\" "
                "font-size=\"14\" font-weight=\"bold\">%s</text>",
                w, h, l, title.c_str());
  s += buf;
  std::snprintf(buf, sizeof buf,
                "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#444\"/>"
                "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#444\"/>",
                l, Y(0), w - r, Y(0), l, Y(0), l, t);
  s += buf;
  for (int i = 0; i <= 4; ++i) {
    const double v = axes.y_max * i / 4;
    const std::string label =
        axes.y_labels.empty()
            ? number(v) + " " + axes.unit
            : (i % 2 == 0 && i / 2 < static_cast<int>(axes.y_labels.size()) ? axes.y_labels[i / 2]
                                                                            : "");
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%s</text>"
                  "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#eee\"/>",
                  l - 6, Y(v) + 4, label.c_str(), l, Y(v), w - r, Y(v));
    s += buf;
  }
  for (size_t i = 0; i <= max_len; i += std::max<size_t>(1, max_len / 6)) {
    std::snprintf(buf, sizeof buf, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s %s</text>",
                  X(i), Y(0) + 16, number(static_cast<double>(i) * axes.x_step).c_str(),
                  axes.x_unit.c_str());
    s += buf;
  }
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& v = series[k].values;
    // A NaN is a gap (nothing to show for that step): the line stops and starts again.
    std::vector<std::string> runs(1);
    for (size_t i = 0; i < v.size(); ++i) {
      if (std::isnan(v[i])) {
        if (!runs.back().empty()) runs.emplace_back();
        continue;
      }
      if (axes.steps && i > 0 && !std::isnan(v[i - 1])) {
        std::snprintf(buf, sizeof buf, " %g,%g", X(i), Y(v[i - 1]));
        runs.back() += buf;
      }
      std::snprintf(buf, sizeof buf, " %g,%g", X(i), Y(v[i]));
      runs.back() += buf;
    }
    // Each series its own colour and dash pattern, drawn a little thinner than the one before:
    // lines of equal value stay visible beneath each other.
    const char* dash = kDashes[(k / kNumColors + k) % kNumDashes];
    const double width = std::max(1.2, 3.5 - 0.3 * static_cast<double>(k));
    for (const auto& pts : runs) {
      if (pts.empty()) continue;
      // One point alone is drawn as a dot.
      if (pts.find(' ', 1) == std::string::npos) {
        double x = 0, y = 0;
        std::sscanf(pts.c_str(), " %lf,%lf", &x, &y);
        std::snprintf(buf, sizeof buf, "<circle cx=\"%g\" cy=\"%g\" r=\"2.5\" fill=\"%s\"/>", x, y,
                      kColors[k % kNumColors]);
        s += buf;
        continue;
      }
      std::snprintf(
          buf, sizeof buf,
          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" stroke-dasharray=\"%s\" "
          "stroke-opacity=\"0.9\" points=\"",
          kColors[k % kNumColors], width, dash);
      s += buf + pts + "\"/>";
    }
    std::snprintf(
        buf, sizeof buf,
        "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2.5\" "
        "stroke-dasharray=\"%s\"/><text x=\"%g\" y=\"%g\">%s</text>",
        w - r + 8, t + 18.0 * k + 5, w - r + 30, t + 18.0 * k + 5, kColors[k % kNumColors], dash,
        w - r + 36, t + 18.0 * k + 9, series[k].label.c_str());
    s += buf;
  }
  return s + "</svg>";
}

}  // namespace wzp::bench
