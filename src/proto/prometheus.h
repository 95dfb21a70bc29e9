// Writing the Prometheus text exposition format (version 0.0.4): one family at a time, HELP and
// TYPE lines, then its samples. Shared by everything that serves /metrics.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <span>
#include <string>
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
