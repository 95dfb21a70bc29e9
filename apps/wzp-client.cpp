// wzp-client: the call engine's command line (issue 8). Identity management works today;
// calls need the transport and the engine.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <iterator>

#include "crypto/identity.h"
#include "placeholder.h"

namespace {

std::string default_identity_path() {
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.wzp/identity";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wzp-client: WarzonePhone call client"};
  std::string relay;
  std::string identity_path = default_identity_path();
  bool show_identity = false, show_mnemonic = false, restore = false;
  app.add_option("relay", relay, "relay address HOST:PORT");
  app.add_option("--identity", identity_path, "identity file (created on first use)")
      ->capture_default_str();
  app.add_flag("--show-identity", show_identity, "print the fingerprint and exit");
  app.add_flag("--show-mnemonic", show_mnemonic,
               "with --show-identity: also print the 24 recovery words");
  app.add_flag("--restore-identity", restore,
               "read 24 recovery words on stdin and write them to the identity file");
  CLI11_PARSE(app, argc, argv);

  try {
    if (restore) {
      if (std::filesystem::exists(identity_path)) {
        std::cerr << "wzp-client: " << identity_path
                  << " already exists; move it away before restoring\n";
        return 2;
      }
      if (isatty(STDIN_FILENO)) std::cerr << "Enter the 24 recovery words, then Ctrl-D:\n";
      const std::string words((std::istreambuf_iterator<char>(std::cin)), {});
      const auto id = wzp::crypto::Identity::from_mnemonic(words);
      std::filesystem::create_directories(std::filesystem::path(identity_path).parent_path());
      wzp::crypto::save_identity(id, identity_path);
      std::cout << "restored " << id.fingerprint() << " into " << identity_path << "\n";
      return 0;
    }
    if (show_identity) {
      const auto parent = std::filesystem::path(identity_path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent);
      bool created = false;
      const auto id = wzp::crypto::load_or_create_identity(identity_path, &created);
      if (created) std::cerr << "wzp-client: created a new identity in " << identity_path << "\n";
      std::cout << "fingerprint: " << id.fingerprint() << "\n";
      if (show_mnemonic) std::cout << "mnemonic: " << id.mnemonic() << "\n";
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "wzp-client: " << e.what() << "\n";
    return 2;
  }
  if (relay.empty()) {
    std::cerr << "wzp-client: a relay address is required (see --help)\n";
    return 2;
  }
  return wzp::apps::not_built_yet("wzp-client", "the call engine (issue 8)");
}
