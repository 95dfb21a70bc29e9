// wzp-relay: the SFU relay daemon (issue 7).
#include <CLI/CLI.hpp>

#include "placeholder.h"

int main(int argc, char** argv) {
  CLI::App app{"wzp-relay: WarzonePhone relay (SFU rooms, forward mode, probes)"};
  std::string listen = "0.0.0.0:4433";
  app.add_option("--listen", listen, "address to accept clients on")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return wzp::apps::not_built_yet("wzp-relay", "the QUIC transport (issue 6)");
}
