#include "proto/signal_framing.h"

#include <gtest/gtest.h>

#include "proto/bytes.h"

namespace wzp::proto {
namespace {

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(SignalFraming, LengthPrefixIsBigEndian) {
  const auto f = frame_signal(CallRinging{"x"});
  const std::string body = R"({"call_id":"x","type":"CallRinging"})";
  ASSERT_EQ(f.size(), 4 + body.size());
  EXPECT_EQ(load_be32(f.data()), body.size());
  EXPECT_EQ(std::string(f.begin() + 4, f.end()), body);
}

TEST(SignalFraming, ReassemblesFramesSplitAnywhere) {
  const auto stream =
      concat({frame_signal(Ping{1, 2}), frame_signal(Mute{}), frame_signal(Hangup{"c", "done"})});
  SignalFrameReader reader;
  std::vector<SignalMessage> got;
  for (uint8_t b : stream) {  // one byte at a time: the worst split
    ASSERT_TRUE(reader.feed(std::span(&b, 1)).ok());
    while (auto m = reader.next()) {
      ASSERT_TRUE(m->ok());
      got.push_back(std::move(m->value()));
    }
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(std::get<Ping>(got[0]), (Ping{1, 2}));
  EXPECT_TRUE(std::holds_alternative<Mute>(got[1]));
  EXPECT_EQ(std::get<Hangup>(got[2]).reason, "done");
}

TEST(SignalFraming, OversizedFrameIsRefusedBeforeBuffering) {
  SignalFrameReader reader;
  std::vector<uint8_t> header(4);
  store_be32(header.data(), kMaxSignalFrame + 1);
  header.resize(4 + 1000, 'x');
  auto status = reader.feed(header);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, Errc::kTooLarge);
  EXPECT_TRUE(reader.failed());
  EXPECT_EQ(reader.buffered(), 0u);
  // The reader stays failed: the stream cannot be trusted any more.
  EXPECT_FALSE(reader.feed(frame_signal(Mute{})).ok());
  EXPECT_FALSE(reader.next().has_value());
}

TEST(SignalFraming, FrameAtTheLimitIsAccepted) {
  SignalFrameReader reader(64);
  AuthToken t{std::string(64 - std::string(R"({"token":"","type":"AuthToken"})").size(), 'a')};
  const auto f = frame_signal(t);
  ASSERT_EQ(f.size(), 4 + 64u);
  ASSERT_TRUE(reader.feed(f).ok());
  auto m = reader.next();
  ASSERT_TRUE(m && m->ok());
  EXPECT_EQ(std::get<AuthToken>(m->value()), t);
}

TEST(SignalFraming, BadFrameIsReportedAndTheStreamContinues) {
  std::vector<uint8_t> bad = {0, 0, 0, 3, '{', '}', ']'};
  SignalFrameReader reader;
  ASSERT_TRUE(reader.feed(concat({bad, frame_signal(Unhold{})})).ok());
  auto first = reader.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->error().code, Errc::kBadJson);
  auto second = reader.next();
  ASSERT_TRUE(second && second->ok());
  EXPECT_TRUE(std::holds_alternative<Unhold>(second->value()));
  EXPECT_FALSE(reader.next().has_value());
}

TEST(SignalFraming, EmptyFrameIsABadMessage) {
  SignalFrameReader reader;
  const std::vector<uint8_t> empty = {0, 0, 0, 0};
  ASSERT_TRUE(reader.feed(empty).ok());
  auto m = reader.next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->error().code, Errc::kBadJson);
}

}  // namespace
}  // namespace wzp::proto
