#include "transport/endpoint.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace wzp::transport {
namespace {

// 'text' + rest, built by appending (g++ 12 warns falsely on chains of operator+).
std::string quoted(std::string_view text, std::string_view rest) {
  std::string out = "'";
  out.append(text);
  out += "' ";
  out.append(rest);
  return out;
}

}  // namespace

EndpointResult parse_endpoint(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return {std::nullopt, quoted(text, "is not [IPV6]:PORT")};
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return {std::nullopt, quoted(text, "has no :PORT")};
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p > 65535) {
    return {std::nullopt, quoted(port, "is not a port number (0-65535)")};
  }
  // Digits, hex letters, dots and colons only: no IPv6 zone id ("%eth0"), whose free text
  // would travel into pin files and logs.
  if (host.empty() || host.size() > 64 ||
      !std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':';
      })) {
    return {std::nullopt, quoted(host.substr(0, 64), "is not an IP address (no zone ids or other characters)")};
  }
  std::string h(host);
  if (h == "localhost") h = "127.0.0.1";
  boost::system::error_code bec;
  const auto addr = boost::asio::ip::make_address(h, bec);
  if (bec) return {std::nullopt, quoted(h, "is not an IP address")};
  return {boost::asio::ip::udp::endpoint(addr, static_cast<uint16_t>(p)), {}};
}

}  // namespace wzp::transport
