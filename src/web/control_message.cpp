#include "web/control_message.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace wzp::web {

Control parse_control(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return BadControl{"expected a JSON object with a type"};
  }
  const std::string type = j["type"];
  if (type == "relay") {
    if (!j.contains("relay") || !j["relay"].is_string()) return BadControl{"relay: needs \"relay\": \"HOST:PORT\""};
    return SwitchRelay{j["relay"]};
  }
  if (type == "mute") {
    if (!j.contains("on") || !j["on"].is_boolean()) return BadControl{"mute: needs \"on\": true or false"};
    return SetMute{j["on"].get<bool>()};
  }
  return BadControl{"unknown type '" + type.substr(0, 40) + "'"};
}

bool valid_room(std::string_view r) {
  if (r.empty() || r.size() > 64) return false;
  if (r == "healthz" || r == "metrics") return false;  // the bridge's own paths
  for (char c : r) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace wzp::web
