// Another relay of the cluster, as the directory names it (directory.h): its identity, where to
// reach it, and the certificate fingerprint a pipe to it pins.
#pragma once

#include <string>

namespace wzp::relay {

struct RelayAt {
  std::string relay_id;     // its identity fingerprint
  std::string address;      // HOST:PORT; empty when it is this relay
  std::string fingerprint;  // its TLS certificate's
};

}  // namespace wzp::relay
