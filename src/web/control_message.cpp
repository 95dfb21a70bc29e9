#include "web/control_message.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

#include "crypto/identity.h"
#include "proto/hex.h"
#include "proto/room_secret.h"

namespace wzp::web {

Control parse_control(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return BadControl{"expected a JSON object with a type"};
  }
  const std::string type = j["type"];
  if (type == "relay") {
    if (!j.contains("relay") || !j["relay"].is_string())
      return BadControl{"relay: needs \"relay\": \"HOST:PORT\""};
    return SwitchRelay{j["relay"]};
  }
  if (type == "mute") {
    if (!j.contains("on") || !j["on"].is_boolean())
      return BadControl{"mute: needs \"on\": true or false"};
    return SetMute{j["on"].get<bool>()};
  }
  if (type == "volume") {
    if (!j.contains("fingerprint") || !j["fingerprint"].is_string() ||
        !crypto::is_fingerprint(j["fingerprint"].get<std::string>())) {
      return BadControl{"volume: needs \"fingerprint\": a member's fingerprint"};
    }
    if (!j.contains("gain") || !j["gain"].is_number() || !(j["gain"].get<double>() >= 0) ||
        j["gain"].get<double>() > kMaxGain) {
      return BadControl{"volume: needs \"gain\": a number from 0 to 4"};
    }
    return SetVolume{j["fingerprint"], j["gain"].get<double>()};
  }
  return BadControl{"unknown type '" + type.substr(0, 40) + "'"};
}

namespace {

// %XX decoding; nullopt on a broken escape.
std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = proto::hex_digit(in[i + 1]), lo = proto::hex_digit(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

std::variant<JoinRequest, BadControl> parse_join(std::string_view room, std::string_view query) {
  if (!valid_room(room)) return BadControl{"bad room name"};
  JoinRequest out{std::string(room), {}, std::nullopt, {}, std::nullopt};
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const bool expect = param.starts_with("expect="), secret = param.starts_with("secret="),
               name = param.starts_with("name="), seed = param.starts_with("seed=");
    if (!expect && !secret && !name && !seed) continue;
    const auto value = percent_decode(param.substr(param.find('=') + 1));
    if (!value)
      return BadControl{std::string(param.substr(0, param.find('='))) + ": a broken %-escape"};
    if (seed) {
      const auto bytes = proto::from_hex(*value);
      if (!bytes || bytes->size() != 32)
        return BadControl{"seed: an identity seed is 64 hex digits"};
      out.seed.emplace();
      std::copy(bytes->begin(), bytes->end(), out.seed->begin());
      continue;
    }
    if (name) {
      if (value->size() > kMaxName)
        return BadControl{"name: longer than " + std::to_string(kMaxName) + " bytes"};
      for (const char c : *value) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
          return BadControl{"name: a control character"};
      }
      out.name = *value;
      continue;
    }
    if (secret) {
      out.secret = proto::parse_room_secret(*value);
      if (!out.secret) return BadControl{"secret: a room secret is 32 hex digits"};
      continue;
    }
    std::string_view rest = *value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string fp(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (fp.empty()) continue;
      if (!crypto::is_fingerprint(fp)) {
        return BadControl{"expect: '" + fp.substr(0, 48) + "' is not a fingerprint"};
      }
      if (out.expect.size() == kMaxExpected) {
        return BadControl{"expect: more than " + std::to_string(kMaxExpected) + " fingerprints"};
      }
      out.expect.push_back(fp);
    }
  }
  return out;
}

bool valid_room(std::string_view r) {
  if (r.empty() || r.size() > 64) return false;
  if (r == "healthz" || r == "metrics") return false;  // the bridge's own paths
  for (char c : r) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

}  // namespace wzp::web
