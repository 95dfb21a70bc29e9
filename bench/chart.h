// Inline SVG line charts for the benchmarks' HTML reports (no script, no external files).
#pragma once

#include <string>
#include <vector>

namespace wzp::bench {

struct Series {
  std::string label;
  std::vector<double> values;  // one per step of the x axis; NaN: nothing there (a gap in the line)
};

struct ChartAxes {
  std::string unit;                   // of the y axis
  double y_max = 100;                 // values above are drawn at the top
  bool steps = false;                 // hold each value until the next (a staircase)
  std::vector<std::string> y_labels;  // instead of numbers: one per second gridline from 0
  double x_step = 1;                  // how much of x_unit one value stands for
  std::string x_unit = "s";
};

std::string line_chart(const std::vector<Series>& series, const std::string& title,
                       const ChartAxes& axes);

}  // namespace wzp::bench
