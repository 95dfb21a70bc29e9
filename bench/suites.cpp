#include "suites.h"

#include <array>
#include <filesystem>

namespace wzp::bench {

std::span<const Suite> all_suites() {
  static const std::array<Suite, 12> kSuites = {{
      {"proto", "wire-format parse and serialise costs", run_proto_suite},
      {"codec", "encode/decode cost per tier and Opus complexity", run_codec_suite},
      {"fec", "RaptorQ against npm raptorq; tier bitrates; burst loss", run_fec_suite},
      {"crypto", "media AEAD seal+open against raw libsodium", run_crypto_suite},
      {"pipeline", "whole call pipeline both ways against the codec alone", run_pipeline_suite},
      {"transport", "QUIC datagram rate on one core against plain UDP", run_transport_suite},
      {"relay",
       "relay forwarding per core and latency, rooms of 2/10/50, against a UDP reflector; "
       "scaling from 1 to 2 workers",
       run_relay_suite},
      {"calls",
       "two-party calls one relay core carries with p99 forwarding latency under 5 ms, against a "
       "UDP reflector at the same load",
       run_calls_suite},
      {"hostile",
       "what a listener hears over every hostile profile, simulated, against WebRTC-style "
       "references",
       run_hostile_suite},
      {"network",
       "the same with real processes (relay, netem, two clients) and the references beside",
       run_network_suite},
      {"storm",
       "a call through 1 000 000 malformed datagrams and 10 000 Initials at the relay, against the "
       "same call without",
       run_storm_suite},
      {"soak",
       "relay and bridge under --minutes of churn (joins, leaves, slow readers, storms, relay "
       "restarts): RSS, descriptors, CPU; not in 'all'",
       run_soak_suite, false},
  }};
  return kSuites;
}

std::string bin_dir() {
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  if (constexpr std::string_view gone = " (deleted)"; self.ends_with(gone))
    self.resize(self.size() - gone.size());
  return std::filesystem::path(self).parent_path().string();
}

}  // namespace wzp::bench
