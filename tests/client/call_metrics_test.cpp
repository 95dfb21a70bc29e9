// wzp-client's --metrics-file lines: valid JSON, the second's rates from counter deltas (a
// counter that starts again after a reconnect counts from zero), and the marks.
#include "client/call_metrics.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace wzp::client {
namespace {

TEST(CallMetricsLines, EachSecondSaysWhatChangedSinceTheLast) {
  CallMetricsLines lines;
  RoomCallStatus st;
  st.connected = true;
  st.members = 2;
  st.loss_percent = 12.3456;
  st.sent.bytes = 3000;
  st.received.slots_decoded = 45;
  st.received.slots_concealed = 5;
  auto j = nlohmann::json::parse(lines.second(1.04, st));
  EXPECT_EQ(j["state"], "connected");
  EXPECT_EQ(j["members"], 2);
  EXPECT_DOUBLE_EQ(j["t"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["loss_percent"].get<double>(), 12.35);
  EXPECT_DOUBLE_EQ(j["bitrate_kbps"].get<double>(), 24.0);
  EXPECT_DOUBLE_EQ(j["concealment_percent"].get<double>(), 10.0);
  EXPECT_EQ(j["decoded"], 45);
  EXPECT_FALSE(j.contains("drift_ppm"));
  // The next second: 3 000 bytes more, 50 slots all decoded.
  st.sent.bytes = 6000;
  st.received.slots_decoded = 95;
  st.drift_ppm = 51.27;
  j = nlohmann::json::parse(lines.second(2.0, st));
  EXPECT_DOUBLE_EQ(j["bitrate_kbps"].get<double>(), 24.0);
  EXPECT_DOUBLE_EQ(j["concealment_percent"].get<double>(), 0.0);
  EXPECT_EQ(j["decoded"], 50);
  EXPECT_DOUBLE_EQ(j["drift_ppm"].get<double>(), 51.3);
  // A reconnect: the encoder's counter starts again from zero.
  st.sent.bytes = 1500;
  j = nlohmann::json::parse(lines.second(3.0, st));
  EXPECT_DOUBLE_EQ(j["bitrate_kbps"].get<double>(), 12.0);
  const auto m = nlohmann::json::parse(CallMetricsLines::mark("send_start", 1234.56789));
  EXPECT_EQ(m["event"], "send_start");
  EXPECT_DOUBLE_EQ(m["monotonic_ms"].get<double>(), 1234.568);
}

}  // namespace
}  // namespace wzp::client
