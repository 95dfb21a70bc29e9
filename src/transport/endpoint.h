// "HOST:PORT" and "[V6]:PORT" to a UDP endpoint, with errors that name the problem.
#pragma once

#include <utility>  // before Asio (Boost 1.74 with g++ 12)

#include <boost/asio/ip/udp.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace wzp::transport {

struct EndpointResult {
  std::optional<boost::asio::ip::udp::endpoint> endpoint;
  std::string error;  // set when endpoint is empty
};

// Numeric addresses and "localhost"; no DNS (the project runs on closed networks).
EndpointResult parse_endpoint(std::string_view text);

}  // namespace wzp::transport
