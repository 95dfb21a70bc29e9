// Text from the network (display names, reasons) on its way to a terminal or a log line:
// control characters and bytes outside printable ASCII become \xNN, so that a peer cannot
// move the cursor, clear the screen or forge lines of ours, and it is cut to `max` characters.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace wzp::client {

inline std::string printable(std::string_view s, size_t max = 80) {
  std::string out;
  for (const char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F && c != '\\') {
      out += c;
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  return out;
}

}  // namespace wzp::client
