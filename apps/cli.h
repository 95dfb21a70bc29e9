// What every binary does with its command line: `--version` prints "NAME VERSION"; `--help`
// prints the help; a usage error prints "NAME: what is wrong" and where to look, and the
// program exits with status 2 (as it does for a bad config file).
#pragma once

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/system/system_error.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

namespace wzp::apps {

inline constexpr int kUsageError = 2;

// nullopt: go on; otherwise the status to exit with.
inline std::optional<int> parse_command_line(CLI::App& app, const std::string& name, int argc,
                                             char** argv) {
  app.name(name);
  app.set_version_flag("--version", name + " " + WZP_VERSION);
  // Every line out as it is written, also into a pipe or a journal (under systemd, stdout is
  // block-buffered: SIGHUP's confirmation appeared only at exit).
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
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

// Where a daemon keeps its identity and certificate unless told: systemd's StateDirectory=
// ($STATE_DIRECTORY, /var/lib/NAME), else ~/.wzp/NAME, so a relay started from another folder
// still finds the certificate its clients pinned.
inline std::string default_state_dir(const std::string& name) {
  if (const char* s = std::getenv("STATE_DIRECTORY"); s && *s) {
    const std::string dirs = s;
    return dirs.substr(0, dirs.find(':'));
  }
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.wzp/" + name;
  return "wzp-" + name + "-state";
}

// Where an installed binary's data lives: PREFIX/share/wzp beside PREFIX/bin/NAME, when it
// exists (empty when running from the build tree).
inline std::filesystem::path installed_data_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  auto dir = exe.parent_path().parent_path() / "share" / "wzp";
  return std::filesystem::is_directory(dir, ec) ? dir : std::filesystem::path();
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
