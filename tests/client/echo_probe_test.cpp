#include "client/echo_probe.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>

namespace wzp::client {
namespace {

// A loop that delays by 120 ms and adds a little noise: every window is heard, with that
// delay, the right pitch and a high SNR; a loop that returns nothing fails.
TEST(EchoProbe, MeasuresDelayPitchAndNoiseOfALoop) {
  EchoProbe probe;
  std::deque<int16_t> line(48000 * 120 / 1000, 0);
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0, 100);
  std::vector<EchoWindow> all;
  std::vector<int16_t> out(960), back(960);
  for (int step = 0; step < 50 * 8; ++step) {
    probe.fill(out);
    for (size_t i = 0; i < out.size(); ++i) {
      line.push_back(out[i]);
      back[i] = static_cast<int16_t>(line.front() + noise(rng));
      line.pop_front();
    }
    probe.heard(back);
    for (auto& w : probe.take_finished()) all.push_back(w);
  }
  ASSERT_EQ(all.size(), 7u);  // 8 s: each window needs the next second to finish
  for (const auto& w : all) {
    EXPECT_TRUE(w.heard);
    EXPECT_NEAR(w.delay_ms, 120, 5) << w.index;
    EXPECT_NEAR(w.freq_heard, w.freq_sent, 1) << w.index;
    EXPECT_GT(w.snr_db, 20) << w.index;
  }
  EXPECT_EQ(EchoProbe::verdict(all).substr(0, 4), "GOOD");

  EchoProbe silent;
  std::vector<EchoWindow> none;
  std::vector<int16_t> zeros(960, 0);
  for (int step = 0; step < 50 * 4; ++step) {
    silent.fill(out);
    silent.heard(zeros);
    for (auto& w : silent.take_finished()) none.push_back(w);
  }
  EXPECT_EQ(EchoProbe::verdict(none).substr(0, 4), "FAIL");
}

}  // namespace
}  // namespace wzp::client
