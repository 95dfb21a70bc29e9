// wzp-bench results: one Measurement per figure, printed as a table or as JSON lines.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace wzp::bench {

struct Measurement {
  std::string suite;
  std::string case_name;
  std::string metric;
  double value = 0;
  std::string unit;
  std::optional<double> reference;  // the same metric for the reference, measured in this run
  bool higher_is_better = true;

  // value / reference, oriented so that higher is better for ours.
  std::optional<double> ratio() const;
};

void print_table(std::ostream& out, const std::vector<Measurement>& results);
// For the HTML reports: when and on what they were measured ("2026-12-04 17:40 UTC, wzp-bench
// 0.1.0, 2 cores"), HTML-safe.
std::string run_stamp();
// One JSON object per line: suite, case, metric, value, unit[, reference, ratio].
void print_json_lines(std::ostream& out, const std::vector<Measurement>& results);

}  // namespace wzp::bench
