// The page's control messages (JSON text on the WebSocket), parsed strictly:
//   {"type":"relay","relay":"HOST:PORT"}   move this participant to another relay
//   {"type":"mute","on":true|false}        stop or resume sending the microphone
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

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

// The identities a page will talk to, from its WebSocket URL's query (`expect=FP,FP`, commas
// and colons may be percent-encoded): its key goes to them alone, as `wzp-client --expect`.
// No `expect`: anyone the room lists. At most kMaxExpected fingerprints, each in
// fingerprint_of's form; anything else is refused with the reason.
inline constexpr size_t kMaxExpected = 16;
// What a page's WebSocket URL asks for: /ws/ROOM?expect=FP,FP.
struct JoinRequest {
  std::string room;
  std::vector<std::string> expect;
};
std::variant<std::vector<std::string>, BadControl> parse_expect(std::string_view query);

// A room name from a URL path segment: 1-64 of letters, digits, '-', '_', '.'.
bool valid_room(std::string_view room);

}  // namespace wzp::web
