// "HOST:PORT" and "[V6]:PORT" to a UDP endpoint, host names looked up, with errors that name
// the problem.
#pragma once

#include <utility>  // before Asio (Boost 1.74 with g++ 12)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace wzp::transport {

struct EndpointResult {
  std::optional<boost::asio::ip::udp::endpoint> endpoint;
  std::string error;  // set when endpoint is empty
};

// "HOST:PORT" with a host name or a numeric address, not looked up yet. Host names are
// letters, digits, '.' and '-' (no IPv6 zone ids: the text travels into pin files and logs).
struct Address {
  std::string host;
  uint16_t port = 0;
  std::string text() const;  // HOST:PORT, [V6]:PORT
};
struct AddressResult {
  std::optional<Address> address;
  std::string error;  // set when address is empty
};
AddressResult parse_address(std::string_view text);

// The address without a lookup: numeric hosts and "localhost" (127.0.0.1).
EndpointResult numeric_endpoint(const Address& a);

// A peer to dial: where, and (for a host name) the name to look up again before each dial.
struct Peer {
  boost::asio::ip::udp::endpoint endpoint;  // numeric, or the name's last answer
  std::optional<Address> name;              // empty for a numeric address: no lookup at all
};
Peer peer_of(const Address& a);

// Numeric addresses and "localhost" only (parse_address, then numeric_endpoint).
EndpointResult parse_endpoint(std::string_view text);

// Looks the host up (/etc/hosts, DNS) off the io_context's thread; `done` runs on it with the
// first address found, or an error naming the host. A numeric host answers without a lookup
// (posted, never from inside the call). Callers look a name up again before each reconnect,
// so a relay that moved to a new address is found.
void resolve(boost::asio::io_context& io, const Address& a,
             std::function<void(EndpointResult)> done);

// The same, blocking: for addresses read at start-up (where to listen).
EndpointResult resolve_now(const Address& a);

// parse_address, then resolve_now: a flag's or a setting's text at start-up.
EndpointResult resolve_now(std::string_view text);

}  // namespace wzp::transport
