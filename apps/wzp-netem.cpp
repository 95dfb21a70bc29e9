// wzp-netem: the userspace UDP impairment proxy (issue 6).
#include <CLI/CLI.hpp>

#include "placeholder.h"

int main(int argc, char** argv) {
  CLI::App app{"wzp-netem: UDP impairment proxy (loss, bursts, jitter, outages, rebinding)"};
  std::string listen, upstream;
  app.add_option("--listen", listen, "address to accept flows on")->required();
  app.add_option("--upstream", upstream, "address to forward to")->required();
  CLI11_PARSE(app, argc, argv);
  return wzp::apps::not_built_yet("wzp-netem", "the impairment proxy (issue 6)");
}
