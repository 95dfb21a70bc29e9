#include "report.h"

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace wzp::bench {

std::string run_stamp() {
  const std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return std::string(when) + ", wzp-bench " + WZP_VERSION + ", " +
         std::to_string(std::thread::hardware_concurrency()) + " cores";
}

std::optional<double> Measurement::ratio() const {
  if (!reference || *reference == 0 || value == 0) return std::nullopt;
  return higher_is_better ? value / *reference : *reference / value;
}

namespace {

std::string fmt(double v) {
  std::ostringstream s;
  if (v != 0 && (std::abs(v) >= 1e6 || std::abs(v) < 1e-2)) {
    s << std::setprecision(3) << std::scientific << v;
  } else {
    s << std::setprecision(v >= 100 ? 0 : 3) << std::fixed << v;
  }
  return s.str();
}

}  // namespace

void print_table(std::ostream& out, const std::vector<Measurement>& results) {
  const std::vector<std::string> head = {"suite", "case",      "metric", "value",
                                         "unit",  "reference", "ratio"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : results) {
    const auto r = m.ratio();
    rows.push_back({m.suite, m.case_name, m.metric, fmt(m.value), m.unit,
                    m.reference ? fmt(*m.reference) : "", r ? fmt(*r) : ""});
  }
  std::vector<size_t> width(head.size());
  for (size_t c = 0; c < head.size(); ++c) {
    width[c] = head[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) {
      const bool numeric = c == 3 || c >= 5;
      out << (numeric ? std::right : std::left) << std::setw(static_cast<int>(width[c])) << cells[c]
          << (c + 1 < cells.size() ? "  " : "\n");
    }
  };
  line(head);
  for (const auto& row : rows) line(row);
}

void print_json_lines(std::ostream& out, const std::vector<Measurement>& results) {
  for (const auto& m : results) {
    nlohmann::ordered_json j = {{"suite", m.suite},
                                {"case", m.case_name},
                                {"metric", m.metric},
                                {"value", m.value},
                                {"unit", m.unit}};
    if (m.reference) j["reference"] = *m.reference;
    if (auto r = m.ratio()) j["ratio"] = *r;
    out << j.dump() << "\n";
  }
}

}  // namespace wzp::bench
