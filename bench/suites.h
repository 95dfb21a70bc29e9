// The wzp-bench suites. Each returns its figures; the driver prints them.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "report.h"

namespace wzp::bench {

struct Suite {
  std::string_view name;
  std::string_view about;
  std::function<std::vector<Measurement>()> run;  // empty: not built yet
  bool in_all = true;                             // false: runs only when named (long-running)
};

std::span<const Suite> all_suites();

std::vector<Measurement> run_proto_suite();
std::vector<Measurement> run_crypto_suite();
std::vector<Measurement> run_fec_suite();
std::vector<Measurement> run_codec_suite();
std::vector<Measurement> run_pipeline_suite();
std::vector<Measurement> run_transport_suite();
std::vector<Measurement> run_relay_suite();
std::vector<Measurement> run_calls_suite();
// The folder of wzp-bench, which holds the binaries the suites start. A rebuild during a run
// replaces the file (its link then reads "... (deleted)"): the run goes on with the new ones.
std::string bin_dir();
std::vector<Measurement> run_network_suite();
std::vector<Measurement> run_hostile_suite();
std::vector<Measurement> run_storm_suite();
std::vector<Measurement> run_soak_suite();
// wzp-bench network|hostile --html FILE --seconds N --legs one|both|all --profile NAME...
// --signal tone|speech|all
void set_network_options(const std::string& html, int seconds, const std::string& legs,
                         const std::vector<std::string>& profiles, const std::string& signal);
// wzp-bench soak --minutes M --pages N --only relay|bridge --html FILE --check
void set_soak_options(double minutes, int pages, const std::string& only, const std::string& html,
                      bool check);
// With --check: how many of the soak's bounds were not met (0 otherwise).
int soak_failures();

}  // namespace wzp::bench
