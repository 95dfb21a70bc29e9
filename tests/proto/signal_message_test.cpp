#include "proto/signal_message.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace wzp::proto {
namespace {

using json = nlohmann::json;

// One populated instance of every message type.
std::vector<SignalMessage> every_message() {
  const Bytes key(32, 0xAB);
  const Bytes sig(64, 0x01);
  return {
      CallOffer{key, key, sig, {"good", "degraded"}, "alice", key, sig},
      CallAnswer{key, key, sig, "good"},
      Rekey{3, key, sig},
      QualityUpdate{12.5, 180, 22, "degraded", 2.5},
      QualityDirective{"catastrophic", "weakest link at 45% loss", 45.0, 3.0},
      Ping{7, 1700000000000},
      Pong{7, 1700000000000},
      Hangup{"call-1", "bye"},
      AuthToken{"tok"},
      Mute{},
      Unmute{},
      Hold{},
      Unhold{},
      RoomUpdate{
          "ops",
          {{1, "aaaa:bbbb", "alice", key, key, sig}, {2, "cccc:dddd", "bob", key, key, sig}}},
      RegisterPresence{key, 1700000000000, sig, std::nullopt},
      RegisterPresenceAck{"aaaa:bbbb", true, std::nullopt},
      DirectCallOffer{"c1", "cccc:dddd", "aaaa:bbbb", "alice"},
      DirectCallAnswer{"c1", true, std::nullopt, "direct-c1"},
      CallRinging{"c1"},
      SenderKey{"aaaa", "cccc", key, 5, 2, Bytes(80, 3), sig},
      FederationHello{"relay-a", 1, {"ops", "lobby"}},
      GlobalRoomActive{"ops", "relay-a"},
      GlobalRoomInactive{"ops", "relay-a"},
  };
}

TEST(SignalMessage, EveryTypeRoundTrips) {
  const auto all = every_message();
  ASSERT_EQ(all.size(), std::variant_size_v<SignalMessage>);
  for (const auto& msg : all) {
    const std::string text = encode_signal(msg);
    auto back = decode_signal(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.error().message();
    EXPECT_EQ(*back, msg) << text;
    EXPECT_EQ(json::parse(text)["type"], std::string(signal_type(msg)));
  }
}

TEST(SignalMessage, KnownJson) {
  EXPECT_EQ(encode_signal(Hangup{std::nullopt, "relay shutting down"}),
            R"({"reason":"relay shutting down","type":"Hangup"})");
  EXPECT_EQ(encode_signal(CallRinging{"x"}), R"({"call_id":"x","type":"CallRinging"})");
  EXPECT_EQ(encode_signal(Rekey{1, {0x01, 0xFF}, {}}),
            R"({"ephemeral_pub":"01ff","epoch":1,"signature":"","type":"Rekey"})");
  auto parsed = decode_signal(R"({"type":"Ping","id":5,"timestamp_ms":9,"extra":[1,2]})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(std::get<Ping>(*parsed), (Ping{5, 9}));
}

TEST(SignalMessage, ErrorsNameTheProblem) {
  auto err = [](std::string_view text) { return decode_signal(text).error(); };
  EXPECT_EQ(err("not json").code, Errc::kBadJson);
  EXPECT_EQ(err("[1,2]").code, Errc::kBadJson);
  EXPECT_EQ(err(R"({"id":1})").field, "type");
  EXPECT_EQ(err(R"({"type":7})").code, Errc::kBadField);
  EXPECT_EQ(err(R"({"type":"Teleport"})").code, Errc::kUnknownType);
  EXPECT_EQ(err(R"({"type":"Teleport"})").field, "Teleport");

  const auto missing = err(R"({"type":"Ping","id":1})");
  EXPECT_EQ(missing.code, Errc::kMissingField);
  EXPECT_EQ(missing.field, "timestamp_ms");
  EXPECT_EQ(missing.message(), "missing_field: missing field 'timestamp_ms'");

  EXPECT_EQ(err(R"({"type":"Ping","id":-1,"timestamp_ms":0})").field, "id");
  EXPECT_EQ(err(R"({"type":"Ping","id":1.5,"timestamp_ms":0})").code, Errc::kBadField);
  EXPECT_EQ(err(R"({"type":"Rekey","epoch":4294967296,"ephemeral_pub":"","signature":""})").field,
            "epoch");
  EXPECT_EQ(err(R"({"type":"Rekey","epoch":1,"ephemeral_pub":"zz","signature":""})").field,
            "ephemeral_pub");
  EXPECT_EQ(err(R"({"type":"RoomUpdate","room":"r","participants":[{"session_id":1}]})").field,
            "participants");
  EXPECT_EQ(err(R"({"type":"Hangup","reason":"x","call_id":5})").field, "call_id");
}

TEST(SignalMessage, OptionalFieldsMayBeAbsentOrNull) {
  auto a = decode_signal(R"({"type":"Hangup","reason":"bye"})");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(std::get<Hangup>(*a).call_id.has_value());
  auto b = decode_signal(R"({"type":"Hangup","reason":"bye","call_id":null})");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(std::get<Hangup>(*b).call_id.has_value());
}

TEST(SignalMessage, InvalidUtf8IsReplacedNotThrown) {
  const std::string bad = "caf\xC3";
  const std::string text = encode_signal(AuthToken{bad});
  EXPECT_TRUE(decode_signal(text).ok());
}

}  // namespace
}  // namespace wzp::proto
