#include "client/call_metrics.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "proto/json_text.h"

namespace wzp::client {

namespace {

double round_to(double v, int decimals) {
  const double k = std::pow(10.0, decimals);
  return std::round(v * k) / k;
}

uint64_t since(uint64_t now, uint64_t last) { return now >= last ? now - last : now; }

}  // namespace

std::string CallMetricsLines::second(double elapsed_s, const RoomCallStatus& st) {
  const auto& r = st.received;
  const uint64_t d_dec = since(r.slots_decoded, last_decoded_),
                 d_con = since(r.slots_concealed, last_concealed_);
  const double kbps = static_cast<double>(since(st.sent.bytes, last_bytes_)) * 8 / 1000.0;
  last_bytes_ = st.sent.bytes, last_decoded_ = r.slots_decoded, last_concealed_ = r.slots_concealed;
  nlohmann::ordered_json j = {
      {"t", round_to(elapsed_s, 1)},
      {"state", st.connected      ? "connected"
                : st.reconnecting ? "reconnecting"
                                  : "connecting"},
      {"members", st.members},
      {"tier", std::string(proto::tier_name(st.tier))},
      {"loss_percent", round_to(st.loss_percent, 2)},
      {"rtt_ms", round_to(st.rtt_ms, 1)},
      {"jitter_ms", round_to(st.jitter_ms, 1)},
      {"buffer_delay_ms", st.buffer_delay_ms},
      {"concealment_percent",
       round_to(d_dec + d_con ? 100.0 * static_cast<double>(d_con) / (d_dec + d_con) : 0.0, 2)},
      {"decoded", d_dec},
      {"bitrate_kbps", round_to(kbps, 1)},
      {"reconnects", st.reconnects},
      {"codec", std::string(proto::codec_info(st.codec).name)},
      {"repairs_per_frame", round_to(st.repairs_per_frame, 2)},
      {"path_budget_kbps", round_to(st.path_budget_kbps, 1)},
      {"reports_by_datagram", st.reports_by_datagram},
      {"directives_by_datagram", st.directives_by_datagram}};
  if (st.drift_ppm) j["drift_ppm"] = round_to(*st.drift_ppm, 1);
  return proto::json_text(j);
}

std::string CallMetricsLines::mark(const char* event, double monotonic_ms) {
  return proto::json_text(
      nlohmann::ordered_json{{"event", event}, {"monotonic_ms", round_to(monotonic_ms, 3)}});
}

}  // namespace wzp::client
