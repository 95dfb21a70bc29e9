#include "client/status_line.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace wzp::client {

std::string status_line(const StatusView& v, size_t width) {
  char buf[64];
  std::string line;
  const auto add = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    if (!line.empty()) line += "  ";
    line += buf;
  };
  // "connected" is the normal state and goes without saying; any other state is shown.
  if (v.state == "connected") {
    add("%4.0fs", v.elapsed_s);
  } else {
    add("%4.0fs %s", v.elapsed_s, v.state.c_str());
  }
  add("%zu %s", v.others, v.others == 1 ? "other" : "others");
  if (!v.codec.empty()) add("%s", v.codec.c_str());
  if (v.others > 0) add("loss %.0f%%", v.loss_percent);
  if (v.rtt_ms > 0) add("rtt %.0fms", v.rtt_ms);
  if (v.decoded > 0) {
    add("delay %ums", v.delay_ms);
    add("heard %.0f%%", 100.0 * v.decoded / static_cast<double>(v.decoded + v.concealed));
  }
  if (v.reconnects > 0) add("reconnects %u", v.reconnects);
  // A level meter of what we send (microphone or file): six cells of about 8 dB each below
  // full scale. Not shown by a listener that sends nothing.
  if (v.sending) {
    const int cells =
        v.level > 1 ? std::clamp(static_cast<int>(6 + 20 * std::log10(v.level / 32768) / 8), 0, 6)
                    : 0;
    add("[%s]", (std::string(cells, '#') + std::string(6 - cells, ' ')).c_str());
  }
  if (width > 0 && line.size() > width) line.resize(width);
  return line;
}

}  // namespace wzp::client
