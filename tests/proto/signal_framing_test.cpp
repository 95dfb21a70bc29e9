#include "proto/signal_framing.h"

#include <gtest/gtest.h>

#include "proto/bytes.h"
#include "proto/media_frame.h"

#include <cmath>

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

// A report in a datagram: the tag, then the message's JSON, parsed back to the same message;
// another tag, an empty datagram or one over the limit is an error, never a message.
TEST(SignalDatagram, CarriesOneMessageAfterItsTag) {
  QualityUpdate q;
  q.loss_percent = 62.5;
  q.mean_burst = 1.5;
  q.seq = 7;
  const auto d = signal_datagram(q);
  ASSERT_GT(d.size(), 1u);
  EXPECT_EQ(d[0], static_cast<uint8_t>(FrameTag::kSignal));
  EXPECT_LT(d.size(), 200u);  // a few of them a second cost a lossy path little
  auto back = parse_signal_datagram(d);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::get<QualityUpdate>(back.value()).seq, 7u);
  EXPECT_EQ(std::get<QualityUpdate>(back.value()).loss_percent, 62.5);

  auto other = d;
  other[0] = static_cast<uint8_t>(FrameTag::kFull);
  EXPECT_EQ(parse_signal_datagram(other).error().code, Errc::kUnknownFrame);
  EXPECT_EQ(parse_signal_datagram({}).error().code, Errc::kTruncated);
  std::vector<uint8_t> big(kMaxSignalDatagram + 1, ' ');
  big[0] = static_cast<uint8_t>(FrameTag::kSignal);
  EXPECT_EQ(parse_signal_datagram(big).error().code, Errc::kTooLarge);
}

// Copies are sent only where the stream's copy would wait (20 % loss or more), and enough for
// one to arrive 95 times in 100, up to six.
TEST(SignalDatagram, CopiesGrowWithTheLossOfThePath) {
  EXPECT_EQ(signal_copies(0), 0);
  EXPECT_EQ(signal_copies(19.9), 0);
  EXPECT_EQ(signal_copies(20), 2);  // 0.2^2 = 4 % all lost
  EXPECT_EQ(signal_copies(40), 4);  // 2.6 %
  EXPECT_EQ(signal_copies(60), 6);  // 4.7 %
  EXPECT_EQ(signal_copies(80), kMaxSignalCopies);
  EXPECT_EQ(signal_copies(100), kMaxSignalCopies);
  EXPECT_EQ(signal_copies(std::nan("")), 0);
}

// The copies of one report count once, and a late copy of an older one (the stream's, after
// the datagrams') never replaces a newer one; a sender that numbers nothing is always heard.
TEST(SignalDatagram, OnlyTheNewestOfTheCopiesIsTaken) {
  NewestSeq newest;
  EXPECT_TRUE(newest.take(1));
  EXPECT_FALSE(newest.take(1));  // its copies
  EXPECT_FALSE(newest.take(1));
  EXPECT_TRUE(newest.take(3));   // 2 was lost on the way
  EXPECT_FALSE(newest.take(2));  // and came late on the stream
  EXPECT_TRUE(newest.take(std::nullopt));
  EXPECT_TRUE(newest.take(std::nullopt));
  newest.reset();  // a new connection counts from the start again
  EXPECT_TRUE(newest.take(1));
}

}  // namespace
}  // namespace wzp::proto
