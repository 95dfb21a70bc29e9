// wzp-client: the call engine's command line (issue 8).
#include <CLI/CLI.hpp>

#include "placeholder.h"

int main(int argc, char** argv) {
  CLI::App app{"wzp-client: WarzonePhone call client"};
  std::string relay;
  app.add_option("relay", relay, "relay address HOST:PORT")->required();
  CLI11_PARSE(app, argc, argv);
  return wzp::apps::not_built_yet("wzp-client", "the call engine (issue 8)");
}
