// Runs Google Benchmark registrations and collects their figures, so that micro-benchmarks
// written with the library feed wzp-bench's table and JSON output.
#pragma once

#include <map>
#include <string>

namespace wzp::bench {

struct MicroRun {
  double ns_per_iter = 0;
  double items_per_second = 0;  // when the benchmark calls SetItemsProcessed
};

// Runs every registered benchmark whose name matches `regex`; keyed by benchmark name.
std::map<std::string, MicroRun> run_micro(const std::string& regex);

}  // namespace wzp::bench
