// The page's control messages, join URLs' queries, room names and relay addresses (a page picks the
// relay): any bytes parse to a control or a reason; an address that parses is confined to safe
// characters and prints back as itself.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "transport/endpoint.h"
#include "web/control_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto c = wzp::web::parse_control(text);
  if (const auto* bad = std::get_if<wzp::web::BadControl>(&c); bad && bad->reason.empty()) {
    __builtin_trap();  // a refusal always says why
  }
  if (wzp::web::valid_room(text) && (size == 0 || size > 64)) __builtin_trap();
  // The same bytes as a WebSocket URL's query: a join or a reason, within its bounds.
  const auto j = wzp::web::parse_join("room", text);
  if (const auto* join = std::get_if<wzp::web::JoinRequest>(&j)) {
    if (join->expect.size() > wzp::web::kMaxExpected) __builtin_trap();
    if (join->secret && join->secret->size() != 16) __builtin_trap();
  } else if (std::get<wzp::web::BadControl>(j).reason.empty()) {
    __builtin_trap();
  }
  const auto a = wzp::transport::parse_address(text);
  if (!a.address && a.error.empty()) __builtin_trap();
  if (a.address) {
    for (char ch : a.address->host) {
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':'))
        __builtin_trap();
    }
    const auto again = wzp::transport::parse_address(a.address->text());
    if (!again.address || again.address->host != a.address->host ||
        again.address->port != a.address->port) {
      __builtin_trap();
    }
    (void)wzp::transport::numeric_endpoint(*a.address);
  }
  return 0;
}
