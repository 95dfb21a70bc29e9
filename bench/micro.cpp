#include "micro.h"

#include <benchmark/benchmark.h>

namespace wzp::bench {
namespace {

class Collector : public benchmark::BenchmarkReporter {
 public:
  explicit Collector(std::map<std::string, MicroRun>& out) : out_(out) {}
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.error_occurred) continue;
      MicroRun r;
      r.ns_per_iter =
          run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit) * 1e9;
      if (auto it = run.counters.find("items_per_second"); it != run.counters.end()) {
        r.items_per_second = it->second.value;
      }
      out_[run.benchmark_name()] = r;
    }
  }

 private:
  std::map<std::string, MicroRun>& out_;
};

}  // namespace

std::map<std::string, MicroRun> run_micro(const std::string& regex) {
  static bool initialised = false;
  if (!initialised) {
    int argc = 1;
    char name[] = "wzp-bench";
    char* argv[] = {name, nullptr};
    benchmark::Initialize(&argc, argv);
    initialised = true;
  }
  std::map<std::string, MicroRun> out;
  Collector collector(out);
  benchmark::RunSpecifiedBenchmarks(&collector, regex);
  return out;
}

}  // namespace wzp::bench
