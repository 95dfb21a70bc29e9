// What every binary does with its command line: `--version` prints "NAME VERSION"; `--help`
// prints the help; a usage error prints "NAME: what is wrong" and where to look, and the
// program exits with status 2 (as it does for a bad config file).
#pragma once

#include <CLI/CLI.hpp>
#include <boost/system/system_error.hpp>
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

// A number of seconds that must be above zero ("--send-tone -5" is a mistake, not a no-op).
inline CLI::Validator positive_seconds() {
  return CLI::Validator(
      [](const std::string& s) {
        try {
          size_t used = 0;
          if (std::stod(s, &used) > 0 && used == s.size()) return std::string();
        } catch (const std::exception&) {
        }
        return "must be a number of seconds above 0, not '" + s + "'";
      },
      "SECS");
}

// Runs `open` (a constructor that binds a socket); a failure to bind names the socket:
// "cannot listen on UDP 127.0.0.1:4433 (--listen): Address already in use".
template <class F>
void listening_on(const std::string& what, F&& open) {
  try {
    open();
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen on " + what + ": " + e.code().message());
  }
}

}  // namespace wzp::apps
