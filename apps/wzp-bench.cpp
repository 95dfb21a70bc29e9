// wzp-bench SUITE [--json]: component and end-to-end benchmarks (docs/BENCHMARKS.md).
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli.h"
#include "client/hostile_profiles.h"
#include "report.h"
#include "suites.h"

int main(int argc, char** argv) {
  using wzp::bench::all_suites;
  CLI::App app{"wzp-bench: WarzonePhone benchmarks"};
  std::string suite;
  bool json = false;
  std::vector<std::string> names = {"all"};
  for (const auto& s : all_suites()) names.emplace_back(s.name);
  app.add_option("suite", suite, "suite to run")->required()->check(CLI::IsMember(names));
  app.add_flag("--json", json, "one JSON object per result instead of a table");
  std::string html;
  int seconds = 20;
  std::string legs = "one";
  std::vector<std::string> profiles;
  std::string signal = "tone";
  app.add_option("--signal", signal,
                 "network, hostile: what the talker sends: the tone probe (tone), espeak-ng speech "
                 "(speech) or each in turn (all)")
      ->check(CLI::IsMember({"tone", "speech", "all"}))
      ->capture_default_str();
  app.add_option("--html", html,
                 "network, hostile, soak: also write a self-contained HTML report with charts");
  app.add_option("--seconds", seconds, "network, hostile: length of each call")
      ->check(CLI::Range(5, 600))
      ->capture_default_str();
  app.add_option("--legs", legs,
                 "network: impair the receiver's leg (one), both legs (both) or each in turn (all)")
      ->check(CLI::IsMember({"one", "both", "all"}))
      ->capture_default_str();
  std::vector<std::string> known;
  for (const auto& p : wzp::client::hostile_profiles()) known.push_back(p.name);
  app.add_option("--profile", profiles, "network, hostile: only this profile (repeatable)")
      ->check(CLI::IsMember(known));
  double minutes = 1;
  int pages = 20;
  bool check = false;
  std::string only;
  app.add_option("--only", only, "soak: only this process (default: the relay, then the bridge)")
      ->check(CLI::IsMember({"relay", "bridge"}));
  app.add_option("--minutes", minutes, "soak: minutes of churn against each process")
      ->check(CLI::Range(0.5, 1440.0))
      ->capture_default_str();
  app.add_option("--pages", pages, "soak: browser pages open at once at most")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_flag("--check", check,
               "soak: exit 1 unless every bound holds (RSS growth under 5 % after the warm-up, "
               "descriptors flat, no crash, media flowing)");
  app.footer([] {
    std::string text = "Suites:\n  all        every suite that is built\n";
    for (const auto& s : all_suites()) {
      text += "  " + std::string(s.name) + std::string(11 - s.name.size(), ' ') +
              std::string(s.about) + "\n";
    }
    return text;
  }());
  if (const auto rc = wzp::apps::parse_command_line(app, "wzp-bench", argc, argv)) return *rc;
  wzp::bench::set_network_options(html, seconds, legs, profiles, signal);
  wzp::bench::set_soak_options(minutes, pages, only, html, check);

  std::vector<wzp::bench::Measurement> results;
  int missing = 0;
  for (const auto& s : all_suites()) {
    if (suite == "all" ? !s.in_all : suite != s.name) continue;
    if (!s.run) {
      std::cerr << "wzp-bench: suite '" << s.name << "' is not built yet\n";
      ++missing;
      continue;
    }
    std::cerr << "wzp-bench: running " << s.name << "...\n";
    auto r = s.run();
    results.insert(results.end(), r.begin(), r.end());
  }
  if (json) {
    wzp::bench::print_json_lines(std::cout, results);
  } else {
    wzp::bench::print_table(std::cout, results);
  }
  if (wzp::bench::soak_failures() > 0) return 1;
  return suite != "all" && missing > 0 ? 2 : 0;
}
