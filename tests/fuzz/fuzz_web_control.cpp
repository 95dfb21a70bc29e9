// The page's control messages and room names: any bytes parse to a control or a reason.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "web/control_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto c = wzp::web::parse_control(text);
  if (const auto* bad = std::get_if<wzp::web::BadControl>(&c); bad && bad->reason.empty()) {
    __builtin_trap();  // a refusal always says why
  }
  if (wzp::web::valid_room(text) && (size == 0 || size > 64)) __builtin_trap();
  return 0;
}
