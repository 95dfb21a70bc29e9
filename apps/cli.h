// What every binary does with its command line: `--version` prints "NAME VERSION"; `--help`
// prints the help; a usage error prints "NAME: what is wrong" and where to look, and the
// program exits with status 2 (as it does for a bad config file).
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string>

namespace wzp::apps {

inline constexpr int kUsageError = 2;

// nullopt: go on; otherwise the status to exit with.
inline std::optional<int> parse_command_line(CLI::App& app, const std::string& name, int argc, char** argv) {
  app.name(name);
  app.set_version_flag("--version", name + " " + WZP_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << name << ": " << e.what() << "\n" << name << ": see " << name << " --help\n";
    return kUsageError;
  }
  return std::nullopt;
}

}  // namespace wzp::apps
