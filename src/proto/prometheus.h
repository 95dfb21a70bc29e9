// Writing the Prometheus text exposition format (version 0.0.4): one family at a time, HELP and
// TYPE lines, then its samples. Shared by everything that serves /metrics.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace wzp::proto {

struct Sample {
  std::string labels;  // e.g. {reason="rate_limited"}, or empty
  double value;
};

inline void family_header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

inline void sample(std::string& out, const char* name, const Sample& s) {
  char v[40];
  std::snprintf(v, sizeof v, " %.15g\n", s.value);  // integers print without decimals
  out += name;
  out += s.labels;
  out += v;
}

inline void family(std::string& out, const char* name, const char* type, const char* help,
                   std::span<const Sample> samples) {
  family_header(out, name, type, help);
  for (const auto& s : samples) sample(out, name, s);
}

inline void family(std::string& out, const char* name, const char* type, const char* help,
                   std::initializer_list<Sample> samples) {
  family(out, name, type, help, std::span<const Sample>(samples.begin(), samples.size()));
}

// A histogram from cumulative bucket counts: `le` bounds (in the metric's unit), then +Inf,
// sum and count.
inline void histogram(std::string& out, const char* name, const char* help,
                      std::span<const double> bounds, std::span<const uint64_t> cumulative,
                      uint64_t count, double sum) {
  family_header(out, name, "histogram", help);
  char line[160];
  for (size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    std::snprintf(line, sizeof line, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
                  static_cast<unsigned long long>(cumulative[i]));
    out += line;
  }
  std::snprintf(line, sizeof line, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                static_cast<unsigned long long>(count));
  out += line;
  std::snprintf(line, sizeof line, "%s_sum %.9g\n%s_count %llu\n", name, sum, name,
                static_cast<unsigned long long>(count));
  out += line;
}

// Several expositions of the same families (one per worker thread of a process) as one: each
// family once, its HELP and TYPE lines once, each series' values summed (counters, gauges of
// what is held, and histogram buckets all add up across workers). Families and their series
// keep the order they first appear in; a series only some texts have stays in its family.
inline std::string sum_expositions(std::span<const std::string> texts) {
  struct Family {
    std::vector<std::string> comments;
    std::vector<std::pair<std::string, double>> series;
  };
  std::vector<Family> families;
  std::unordered_map<std::string, size_t> family_at;
  std::unordered_map<std::string, std::pair<size_t, size_t>> series_at;
  for (const auto& text : texts) {
    size_t current = families.size();  // none yet in this text
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(pos, end - pos);
      pos = end + 1;
      if (line.empty()) continue;
      if (line[0] == '#') {
        // "# HELP name ..." or "# TYPE name ...": the family of the samples after it.
        const size_t from = line.find(' ', 2) + 1;
        const std::string name = from == 0 ? "" : line.substr(from, line.find(' ', from) - from);
        auto [it, added] = family_at.emplace(name, families.size());
        if (added) families.emplace_back();
        current = it->second;
        auto& c = families[current].comments;
        if (std::find(c.begin(), c.end(), line) == c.end()) c.push_back(line);
        continue;
      }
      const size_t space = line.rfind(' ');
      if (space == std::string::npos) continue;
      if (current == families.size()) {
        auto [it, added] = family_at.emplace("", families.size());
        if (added) families.emplace_back();
        current = it->second;
      }
      std::string key = line.substr(0, space);
      const double v = std::strtod(line.c_str() + space + 1, nullptr);
      if (auto it = series_at.find(key); it != series_at.end()) {
        families[it->second.first].series[it->second.second].second += v;
      } else {
        series_at.emplace(key, std::make_pair(current, families[current].series.size()));
        families[current].series.emplace_back(std::move(key), v);
      }
    }
  }
  std::string out;
  char v[40];
  for (const auto& f : families) {
    for (const auto& c : f.comments) {
      out += c;
      out += '\n';
    }
    for (const auto& [key, value] : f.series) {
      std::snprintf(v, sizeof v, " %.15g\n", value);
      out += key;
      out += v;
    }
  }
  return out;
}

// A label value with \, " and newline escaped, as the format asks.
inline std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// A latency histogram observed in one unit (µs for the relay, ms for the bridge) and exposed in
// seconds: `bounds` in the observed unit, each observation counted in every bucket it fits.
template <size_t N>
class LatencyHistogram {
 public:
  constexpr LatencyHistogram(std::array<double, N> bounds, double seconds_per_unit)
      : bounds_(bounds), seconds_per_unit_(seconds_per_unit) {}
  void observe(double v) {
    for (size_t b = 0; b < N; ++b) {
      if (v <= bounds_[b]) ++cumulative_[b];
    }
    ++count_;
    sum_ += v;
  }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }  // in the observed unit
  void write(std::string& out, const char* name, const char* help) const {
    std::array<double, N> seconds{};
    for (size_t i = 0; i < N; ++i) seconds[i] = bounds_[i] * seconds_per_unit_;
    histogram(out, name, help, seconds, cumulative_, count_, sum_ * seconds_per_unit_);
  }

 private:
  std::array<double, N> bounds_;
  double seconds_per_unit_;
  std::array<uint64_t, N> cumulative_{};
  uint64_t count_ = 0;
  double sum_ = 0;
};

}  // namespace wzp::proto
