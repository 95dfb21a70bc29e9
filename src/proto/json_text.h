// JSON as one line of text, the one way the project writes it: signalling messages, the page's
// messages and structured log lines. Invalid UTF-8 (a name or a reason a peer sent) is replaced,
// never thrown over.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace wzp::proto {

template <class Json>
std::string json_text(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// A string as a JSON string literal, quotes included.
inline std::string json_quote(const std::string& text) { return json_text(nlohmann::json(text)); }

}  // namespace wzp::proto
