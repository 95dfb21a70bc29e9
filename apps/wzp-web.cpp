// wzp-web: the browser bridge (issue 9).
#include <CLI/CLI.hpp>

#include "placeholder.h"

int main(int argc, char** argv) {
  CLI::App app{"wzp-web: WarzonePhone browser bridge"};
  int port = 8080;
  std::string relay = "127.0.0.1:4433";
  app.add_option("--port", port, "HTTPS/WebSocket port")->capture_default_str();
  app.add_option("--relay", relay, "relay address")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return wzp::apps::not_built_yet("wzp-web", "the web bridge (issue 9)");
}
