// The relay's TOML config reader on arbitrary files: a bad file is an error naming the key,
// never a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>

#include "relay/relay_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/wzp-fuzz-config-" + std::to_string(getpid()) + ".toml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  wzp::relay::RelayOptions o;
  try {
    wzp::relay::load_relay_config(path, o);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
