// The direct-call flow (client/direct_call.h) against a relay played by hand: what it sends,
// when the front end's call starts and ends, and what it is told.
#include "client/direct_call.h"

#include <gtest/gtest.h>

#include <vector>

namespace wzp::client {
namespace {

using K = DirectCallEvent::Kind;

struct Front {
  std::vector<proto::SignalMessage> sent;
  std::vector<std::pair<std::string, std::string>> started;  // room, peer
  std::vector<std::string> ended;
  std::vector<DirectCallEvent> events;
  int ids = 0;
  DirectCallFlow::Hooks hooks() {
    return {.send =
                [this](const proto::SignalMessage& m) {
                  sent.push_back(m);
                  return true;
                },
            .start_call = [this](const std::string& room,
                                 const std::string& peer) { started.emplace_back(room, peer); },
            .end_call = [this](const std::string& why) { ended.push_back(why); },
            .on_event = [this](const DirectCallEvent& e) { events.push_back(e); },
            .new_call_id = [this] { return "id" + std::to_string(++ids); }};
  }
  template <class T>
  const T* last_sent() const {
    for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
      if (auto* m = std::get_if<T>(&*it)) return m;
    }
    return nullptr;
  }
};

TEST(DirectCallFlow, PlaceRingConnectAndHangUp) {
  Front f;
  DirectCallFlow flow(f.hooks());
  flow.place("bob-fp", std::string("alice"));
  const auto* offer = f.last_sent<proto::DirectCallOffer>();
  ASSERT_NE(offer, nullptr);
  EXPECT_EQ(offer->call_id, "id1");
  EXPECT_EQ(offer->to, "bob-fp");
  EXPECT_EQ(offer->display_name, "alice");
  flow.on_message(proto::CallRinging{"id1"});
  EXPECT_EQ(f.events.back().kind, K::kRinging);
  EXPECT_TRUE(f.started.empty());
  flow.on_message(proto::DirectCallAnswer{"id1", true, std::nullopt, "direct-abc"});
  ASSERT_EQ(f.started.size(), 1u);
  EXPECT_EQ(f.started[0], std::make_pair(std::string("direct-abc"), std::string("bob-fp")));
  EXPECT_TRUE(flow.in_call());
  flow.hang_up();
  EXPECT_EQ(f.last_sent<proto::Hangup>()->call_id, "id1");
  EXPECT_EQ(f.ended.size(), 1u);
  EXPECT_FALSE(flow.in_call());
  flow.hang_up();  // nothing left to hang up
  EXPECT_EQ(f.ended.size(), 1u);
}

TEST(DirectCallFlow, AnIncomingCallIsAnsweredOrDeclinedAndTheOtherSideCanEndIt) {
  Front f;
  DirectCallFlow flow(f.hooks());
  EXPECT_FALSE(flow.answer(true));  // nothing to answer
  flow.on_message(proto::DirectCallOffer{"c7", "me", std::string("carol-fp"), "carol"});
  ASSERT_EQ(f.events.back().kind, K::kIncoming);
  EXPECT_EQ(f.events.back().peer, "carol-fp");
  EXPECT_EQ(f.events.back().display_name, "carol");
  EXPECT_TRUE(f.sent.empty());  // waits for the user
  ASSERT_TRUE(flow.answer(true));
  EXPECT_TRUE(f.last_sent<proto::DirectCallAnswer>()->accept);
  flow.on_message(proto::DirectCallAnswer{"c7", true, std::nullopt, "direct-x"});
  ASSERT_EQ(f.started.size(), 1u);
  EXPECT_EQ(f.started[0].second, "carol-fp");  // the room expects the caller alone
  // Another call's hangup leaves this one alone; the other side's ends it.
  flow.on_message(proto::Hangup{std::string("c1"), "gone"});
  EXPECT_EQ(f.events.back().kind, K::kOtherEnded);
  EXPECT_TRUE(f.ended.empty());
  flow.on_message(proto::Hangup{std::string("c7"), "bye"});
  ASSERT_EQ(f.ended.size(), 1u);
  EXPECT_EQ(f.ended[0], "hung up by the other side (bye)");
  // A second offer, declined.
  flow.on_message(proto::DirectCallOffer{"c8", "me", std::string("dan-fp"), std::nullopt});
  ASSERT_TRUE(flow.answer(false));
  EXPECT_FALSE(f.last_sent<proto::DirectCallAnswer>()->accept);
  EXPECT_FALSE(flow.answer(true));  // declined: gone
  EXPECT_EQ(f.started.size(), 1u);
}

TEST(DirectCallFlow, AutoAnswerAndARefusedOrDeclinedCallAreTold) {
  Front f;
  DirectCallFlow flow(f.hooks(), /*auto_answer=*/true);
  flow.on_message(proto::DirectCallOffer{"c1", "me", std::string("eve-fp"), std::nullopt});
  ASSERT_NE(f.last_sent<proto::DirectCallAnswer>(), nullptr);
  EXPECT_TRUE(f.last_sent<proto::DirectCallAnswer>()->accept);
  // Our call to someone not registered: the relay's Hangup names our call.
  flow.place("nobody", std::nullopt);
  flow.on_message(proto::Hangup{std::string("id1"), "callee nobody is not registered here"});
  EXPECT_EQ(f.events.back().kind, K::kOtherEnded);
  EXPECT_EQ(f.events.back().reason, "callee nobody is not registered here");
  EXPECT_TRUE(flow.call_id().empty());
  flow.place("bob", std::nullopt);
  flow.on_message(proto::DirectCallAnswer{"id2", false, std::string("busy"), std::nullopt});
  EXPECT_EQ(f.events.back().kind, K::kDeclined);
  EXPECT_EQ(f.events.back().reason, "busy");
  EXPECT_TRUE(f.ended.empty());
  // Not part of the flow: left to the caller.
  EXPECT_FALSE(flow.on_message(proto::Ping{1, 2}));
}

}  // namespace
}  // namespace wzp::client
