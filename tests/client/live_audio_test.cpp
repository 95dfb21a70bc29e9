#include "client/live_audio.h"

#include <gtest/gtest.h>

#include <numeric>
#include <thread>

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

// The ring is where PortAudio's thread meets the call's: one writes while the other reads,
// with no lock. Every sample arrives once, in order (ThreadSanitizer checks the handover in the
// sanitizer run).
TEST(SampleRing, AWriterAndAReaderOnTwoThreadsPassEverySampleInOrder) {
  SampleRing ring(960);
  constexpr int16_t kSamples = 30000;
  std::thread writer([&] {
    std::vector<int16_t> chunk(100);
    int16_t next = 0;
    while (next < kSamples) {
      const size_t n = std::min<size_t>(chunk.size(), static_cast<size_t>(kSamples - next));
      for (size_t i = 0; i < n; ++i) chunk[i] = static_cast<int16_t>(next + i);
      next = static_cast<int16_t>(next + ring.write(std::span(chunk).first(n)));
      if (next < kSamples) std::this_thread::yield();
    }
  });
  std::vector<int16_t> got, chunk(70);
  while (got.size() < static_cast<size_t>(kSamples)) {
    const size_t n = ring.read(chunk);
    got.insert(got.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    if (n == 0) std::this_thread::yield();
  }
  writer.join();
  for (int16_t i = 0; i < kSamples; ++i) ASSERT_EQ(got[static_cast<size_t>(i)], i);
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
