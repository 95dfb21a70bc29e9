#include "client/live_audio.h"

#include <gtest/gtest.h>

#include <numeric>

namespace wzp::client {
namespace {

TEST(SampleRing, KeepsOrderAcrossTheWrapAndRefusesWhatDoesNotFit) {
  SampleRing ring(1000);
  std::vector<int16_t> in(700), out(700);
  std::iota(in.begin(), in.end(), 0);
  for (int round = 0; round < 5; ++round) {
    ASSERT_EQ(ring.write(in), 700u);
    EXPECT_EQ(ring.write(in), 300u);  // full: the rest is dropped
    ASSERT_EQ(ring.read(out), 700u);
    EXPECT_EQ(out, in);
    ASSERT_EQ(ring.read(std::span(out).first(300)), 300u);
    EXPECT_EQ(out[0], 0);
    EXPECT_EQ(ring.available(), 0u);
  }
}

// Without a sound card (CI, containers) opening fails with a reason, never a crash.
TEST(LiveAudio, OpensOrSaysWhyNot) {
  std::string error;
  auto audio = LiveAudio::open(&error);
  if (!audio) {
    EXPECT_FALSE(error.empty());
    std::printf("no live audio here: %s\n", error.c_str());
  }
}

}  // namespace
}  // namespace wzp::client
