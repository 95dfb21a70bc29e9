// Writing the Prometheus text exposition format (version 0.0.4): one family at a time, HELP and
// TYPE lines, then its samples. Shared by everything that serves /metrics.
#pragma once

#include <cstdio>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace wzp::relay {

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

}  // namespace wzp::relay
