#include "transport/endpoint.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>

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

AddressResult parse_address(std::string_view text) {
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
  // Letters, digits, dots, dashes and colons only: no IPv6 zone id ("%eth0") or other free
  // text, which would travel into pin files and logs.
  if (host.empty() || host.size() > 253 || !std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '-';
      })) {
    return {std::nullopt, quoted(host.substr(0, 64), "is not a host name or an IP address")};
  }
  return {Address{std::string(host), static_cast<uint16_t>(p)}, {}};
}

std::string Address::text() const {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                             : host + ":" + std::to_string(port);
}

EndpointResult numeric_endpoint(const Address& a) {
  const std::string h = a.host == "localhost" ? "127.0.0.1" : a.host;
  boost::system::error_code bec;
  const auto addr = boost::asio::ip::make_address(h, bec);
  if (bec) return {std::nullopt, quoted(h, "is not an IP address")};
  return {boost::asio::ip::udp::endpoint(addr, a.port), {}};
}

Peer peer_of(const Address& a) {
  if (auto n = numeric_endpoint(a); n.endpoint) return {*n.endpoint, std::nullopt};
  return {{}, a};
}

EndpointResult parse_endpoint(std::string_view text) {
  const auto a = parse_address(text);
  if (!a.address) return {std::nullopt, a.error};
  return numeric_endpoint(*a.address);
}

namespace {

EndpointResult first_of(const Address& a, const boost::system::error_code& ec,
                        const boost::asio::ip::udp::resolver::results_type& results) {
  if (ec || results.empty()) {
    return {std::nullopt,
            "cannot resolve '" + a.host + "': " + (ec ? ec.message() : std::string("no address"))};
  }
  return {results.begin()->endpoint(), {}};
}

}  // namespace

void resolve(boost::asio::io_context& io, const Address& a,
             std::function<void(EndpointResult)> done) {
  if (auto n = numeric_endpoint(a); n.endpoint) {
    boost::asio::post(io, [done = std::move(done), n] { done(n); });
    return;
  }
  // The resolver lives until its answer: getaddrinfo runs on Asio's own thread.
  auto r = std::make_shared<boost::asio::ip::udp::resolver>(io);
  r->async_resolve(
      a.host, std::to_string(a.port),
      [r, a, done = std::move(done)](const boost::system::error_code& ec,
                                     boost::asio::ip::udp::resolver::results_type results) {
        done(first_of(a, ec, results));
      });
}

EndpointResult resolve_now(const Address& a) {
  if (auto n = numeric_endpoint(a); n.endpoint) return n;
  boost::asio::io_context io;
  boost::asio::ip::udp::resolver r(io);
  boost::system::error_code ec;
  const auto results = r.resolve(a.host, std::to_string(a.port), ec);
  return first_of(a, ec, results);
}

EndpointResult resolve_now(std::string_view text) {
  const auto a = parse_address(text);
  if (!a.address) return {std::nullopt, a.error};
  return resolve_now(*a.address);
}

}  // namespace wzp::transport
