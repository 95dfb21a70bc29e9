// The page's control messages (JSON text on the WebSocket), parsed strictly:
//   {"type":"relay","relay":"HOST:PORT"}   move this participant to another relay
//   {"type":"mute","on":true|false}        stop or resume sending the microphone (the others
//                                          are shown it)
//   {"type":"volume","fingerprint":FP,"gain":G}   how loud that member plays for this page, 0-4
#pragma once

#include <array>
#include <cstdint>
#include <optional>
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
inline constexpr double kMaxGain = 4;
struct SetVolume {
  std::string fingerprint;
  double gain = 1;
};
struct BadControl {
  std::string reason;
};
using Control = std::variant<SwitchRelay, SetMute, SetVolume, BadControl>;

Control parse_control(std::string_view text);

// What a page's WebSocket URL asks for: /ws/ROOM?expect=FP,FP&secret=HEX&name=NAME&seed=HEX.
//   expect  the identities the page will talk to (commas and colons may be percent-encoded):
//           its key goes to them alone, as `wzp-client --expect`; none: anyone the room lists.
//           At most kMaxExpected fingerprints, each in fingerprint_of's form.
//   secret  the invite-only room of that name (32 hex digits, as `wzp-client --secret`);
//           none: the open room.
//   name    the display name the others see (at most kMaxName bytes, no control characters);
//           none: "web-" and the start of the page's fingerprint.
//   seed    the page's identity (64 hex digits: the 32-byte seed the page keeps in its
//           storage), so that it is the same identity in every call and after every rejoin;
//           none: a fresh identity for this connection. The bridge runs the call with it and
//           keeps it no longer than the connection.
// Anything else in these is refused with the reason; other parameters are the page's own.
inline constexpr size_t kMaxExpected = 16;
inline constexpr size_t kMaxName = 32;
struct JoinRequest {
  std::string room;
  std::vector<std::string> expect;
  std::optional<std::vector<uint8_t>> secret;
  std::string name;
  std::optional<std::array<uint8_t, 32>> seed;
};
std::variant<JoinRequest, BadControl> parse_join(std::string_view room, std::string_view query);

// A room name from a URL path segment: 1-64 of letters, digits, '-', '_', '.'.
bool valid_room(std::string_view room);

}  // namespace wzp::web
