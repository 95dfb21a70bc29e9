// The page's control messages (JSON text on the WebSocket), parsed strictly:
//   {"type":"relay","relay":"HOST:PORT"}   move this participant to another relay
//   {"type":"mute","on":true|false}        stop or resume sending the microphone
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace wzp::web {

struct SwitchRelay {
  std::string relay;
};
struct SetMute {
  bool on = false;
};
struct BadControl {
  std::string reason;
};
using Control = std::variant<SwitchRelay, SetMute, BadControl>;

Control parse_control(std::string_view text);

// A room name from a URL path segment: 1-64 of letters, digits, '-', '_', '.'.
bool valid_room(std::string_view room);

}  // namespace wzp::web
