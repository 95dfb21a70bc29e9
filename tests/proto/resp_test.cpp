#include "proto/resp.h"

#include <gtest/gtest.h>

#include <string>

namespace wzp::proto {
namespace {

TEST(Resp, CommandsAreArraysOfBulkStrings) {
  EXPECT_EQ(resp_command({"SET", "k", ""}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
  const std::vector<std::string> args = {"ZADD", "a b", std::string("\r\n\0", 3)};
  EXPECT_EQ(resp_command(args),
            std::string("*3\r\n$4\r\nZADD\r\n$3\r\na b\r\n$3\r\n\r\n\0\r\n", 32));
}

TEST(Resp, EveryReplyTypeParsesAndArrivesWholeWhateverTheCuts) {
  const std::string stream =
      "+OK\r\n-ERR wrong "
      "type\r\n:-42\r\n$5\r\nhe\r\no\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:7\r\n*0\r\n";
  // Fed whole, byte by byte, and in every two-piece cut: the same six replies.
  std::vector<std::vector<std::string>> feeds = {{stream}, {}};
  for (char c : stream) feeds[1].push_back(std::string(1, c));
  for (size_t cut = 1; cut < stream.size(); ++cut)
    feeds.push_back({stream.substr(0, cut), stream.substr(cut)});
  for (const auto& pieces : feeds) {
    RespParser p;
    std::vector<RespValue> got;
    for (const auto& piece : pieces) {
      ASSERT_TRUE(p.feed(piece));
      while (auto v = p.next()) got.push_back(*v);
    }
    ASSERT_EQ(got.size(), 7u);
    EXPECT_EQ(got[0].type, RespValue::Type::kSimple);
    EXPECT_EQ(got[0].text, "OK");
    EXPECT_TRUE(got[1].is_error());
    EXPECT_EQ(got[1].text, "ERR wrong type");
    EXPECT_EQ(got[2].integer, -42);
    EXPECT_EQ(got[3].text, "he\r\no");  // a bulk string may hold CRLF
    EXPECT_EQ(got[4].type, RespValue::Type::kNull);
    ASSERT_EQ(got[5].items.size(), 2u);
    EXPECT_EQ(got[5].items[0].text, "a");
    EXPECT_EQ(got[5].items[1].items.at(0).integer, 7);
    EXPECT_EQ(got[6].type, RespValue::Type::kArray);
    EXPECT_TRUE(got[6].items.empty());
    EXPECT_EQ(p.buffered(), 0u);
  }
}

// A stream that is not RESP, or a reply past a bound, breaks the parser for good, with the
// problem named: the connection is dropped, nothing is allocated for the claimed sizes.
TEST(Resp, MalformedAndOversizedRepliesBreakTheStreamWithAReason) {
  const RespLimits small{
      .max_bulk = 16, .max_items = 4, .max_depth = 2, .max_buffered = 64, .max_line = 32};
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"?what\r\n", "not a RESP reply"},
      {":12x\r\n", "not a number"},
      {":\r\n", "not a number"},
      {"$17\r\n", "bulk string of 17"},
      {"$-2\r\n", "bulk string of -2"},
      {"$2\r\nabcd\r\n", "not ended by CRLF"},
      {"*5\r\n", "array of 5"},
      {"*1\r\n*1\r\n*1\r\n:1\r\n", "nested deeper"},
      {"+" + std::string(40, 'a'), "longer than 32"},
      {"$9223372036854775807\r\n", "bulk string of"},
      {"*99999999999999999999\r\n", "not a number"},
  };
  for (const auto& [input, why] : bad) {
    RespParser p(small);
    p.feed(input);
    EXPECT_FALSE(p.next().has_value()) << input;
    EXPECT_TRUE(p.failed()) << input;
    EXPECT_NE(p.error().find(why), std::string::npos) << input << " -> " << p.error();
    EXPECT_FALSE(p.feed("+OK\r\n"));  // failed for good
    EXPECT_FALSE(p.next().has_value());
  }
  RespParser p(small);
  EXPECT_FALSE(p.feed(std::string(65, '+')));  // more buffered than allowed
  EXPECT_TRUE(p.failed());
}

}  // namespace
}  // namespace wzp::proto
