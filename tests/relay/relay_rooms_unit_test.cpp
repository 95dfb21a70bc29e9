// The relay's rooms on a simulated clock (sim_relay.h): fan-out and the echo rule, RoomUpdates,
// the quality directives and their timing, sender keys, and the checks on what a member
// presents. Real QUIC is in relay_rooms_test.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "crypto/sender_keys.h"
#include "proto/room_secret.h"
#include "sim_relay.h"

namespace wzp::relay {
namespace {

TEST(RelayRoomsUnit, MembersHearEachOtherNeverThemselvesAndRoomsDoNotLeak) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob"), &c = f.join("ops", "carol");
  auto& d = f.join("dev", "dave");
  ASSERT_TRUE(a.answered() && b.answered() && c.answered() && d.answered());
  EXPECT_EQ(a.peer->probe_trains, 1);  // each join's path is measured
  std::set<std::string> names;
  const auto a_room = a.known_room();
  for (const auto& p : a_room->participants) names.insert(p.display_name);
  EXPECT_EQ(names, (std::set<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(f.relay.members(proto::room_sni("ops")), 3u);
  EXPECT_EQ(f.relay.members(proto::room_sni("dev")), 1u);
  for (int i = 0; i < 50; ++i) {
    a.send_media('A');
    b.send_media('B');
    c.send_media('C');
    d.send_media('D');
  }
  EXPECT_EQ(a.peer->media().markers, (std::set<uint8_t>{'B', 'C'}));  // never its own
  EXPECT_EQ(b.peer->media().markers, (std::set<uint8_t>{'A', 'C'}));
  EXPECT_EQ(c.peer->media().markers, (std::set<uint8_t>{'A', 'B'}));
  EXPECT_TRUE(d.peer->media().markers.empty());  // the other room heard nothing
  const auto heard = a.peer->media();
  EXPECT_EQ(heard.from.size(), 2u);  // two senders, by session id
  EXPECT_EQ(heard.from.begin()->second, 50);
  EXPECT_EQ(heard.frames, 100);  // one frame per datagram toward a client
  EXPECT_EQ(f.relay.stats().datagrams_out, 300u);
  // A member leaves: the others get a RoomUpdate without it, and its room is gone with it.
  f.disconnect(c);
  EXPECT_EQ(a.known_room()->participants.size(), 2u);
  f.disconnect(d);
  EXPECT_EQ(f.relay.members(proto::room_sni("dev")), 0u);
  EXPECT_NE(f.relay.metrics_text().find("wzp_relay_rooms 1\n"), std::string::npos);
}

// A join costs each member already there one entry (a RoomUpdate delta), not the whole room
// again: on a 24 kbit/s path the list of a room of two took 0.4 s of link ahead of the
// newcomer's first frame. The newcomer is sent the whole room; a leave names only the session.
TEST(RelayRoomsUnit, AJoinSendsTheOthersOnlyTheNewcomer) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob");
  const auto last = [](SimMember& m) { return *m.peer->last<proto::RoomUpdate>(); };
  EXPECT_FALSE(last(b).delta.value_or(false));
  EXPECT_EQ(last(b).participants.size(), 2u);
  auto& c = f.join("ops", "carol");
  for (SimMember* m : {&a, &b}) {
    const auto u = last(*m);
    EXPECT_TRUE(u.delta.value_or(false));
    ASSERT_EQ(u.participants.size(), 1u);
    EXPECT_EQ(u.participants[0].display_name, "carol");
    // One entry of three: well under half the bytes of the whole room.
    EXPECT_LT(proto::frame_signal(u).size() * 2, proto::frame_signal(last(c)).size());
  }
  EXPECT_EQ(last(c).participants.size(), 3u);
  const uint32_t carol = last(a).participants[0].session_id;
  f.disconnect(c);
  const auto gone = last(a);
  EXPECT_TRUE(gone.participants.empty());
  EXPECT_EQ(gone.left, std::vector<uint32_t>{carol});
  EXPECT_EQ(a.known_room()->participants.size(), 2u);
}

TEST(RelayRoomsUnit, EchoRoomSendsMediaBackToItsSenderOnly) {
  SimRelay f;
  auto &e = f.join(proto::kEchoRoom, "echo-tester"), &other = f.join(proto::kEchoRoom, "someone");
  for (int i = 0; i < 20; ++i) e.send_media('E');
  EXPECT_EQ(e.peer->media().markers, (std::set<uint8_t>{'E'}));
  EXPECT_EQ(e.peer->media().entries, 20);
  EXPECT_TRUE(other.peer->media().markers.empty());
}

// A member that mutes is shown muted to the others (and unmuted again); saying it twice sends
// nobody anything.
TEST(RelayRoomsUnit, AMuteIsShownToTheOthersAndSaidOnce) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob");
  const auto alice_muted = [&]() -> std::optional<bool> {
    const auto b_room = b.known_room();
    for (const auto& p : b_room->participants) {
      if (p.display_name == "alice") return p.muted.value_or(false);
    }
    return std::nullopt;
  };
  EXPECT_EQ(alice_muted(), false);
  a.say(proto::Mute{});
  EXPECT_EQ(alice_muted(), true);
  const size_t updates = b.peer->messages.size();
  a.say(proto::Mute{});
  EXPECT_EQ(b.peer->messages.size(), updates);  // the repeated Mute said nothing
  a.say(proto::Unmute{});
  EXPECT_EQ(alice_muted(), false);
  EXPECT_EQ(b.peer->messages.size(), updates + 1);
}

proto::QualityUpdate report(double loss, std::optional<double> capacity = std::nullopt,
                            std::optional<double> queue_ms = std::nullopt) {
  proto::QualityUpdate q;
  q.loss_percent = loss;
  q.capacity_kbps = capacity;
  q.queue_ms = queue_ms;
  return q;
}

// Each member sizes its protection for the members that receive its stream: the loss a listener
// reports on its own way in is in everyone else's directive, not in its own (it would only fill
// that listener's uplink with repairs nobody needs). So is the capacity: bob's own report is
// about what reaches him, not about his stream. The tier stays the room's.
TEST(RelayRoomsUnit, EachMemberIsDirectedByTheLossOfThoseWhoReceiveIt) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob"), &c = f.join("ops", "carol");
  a.say(report(0));
  c.say(report(5));
  b.say(report(30, 20.0));  // bob's path in is lossy and capped
  f.advance(1000);          // the room takes a report a second: the next one sees all three
  a.say(report(0));
  const auto* da = a.peer->last<proto::QualityDirective>();
  const auto* db = b.peer->last<proto::QualityDirective>();
  const auto* dc = c.peer->last<proto::QualityDirective>();
  ASSERT_TRUE(da && db && dc);
  EXPECT_DOUBLE_EQ(*da->loss_percent, 30);  // bob receives alice
  EXPECT_DOUBLE_EQ(*dc->loss_percent, 30);
  EXPECT_DOUBLE_EQ(*db->loss_percent, 5);    // carol's is the worst path bob's stream takes
  EXPECT_DOUBLE_EQ(*da->capacity_kbps, 20);  // alice's and carol's streams reach bob
  EXPECT_DOUBLE_EQ(*dc->capacity_kbps, 20);
  EXPECT_FALSE(db->capacity_kbps.has_value());  // bob's reaches two unlimited paths
  EXPECT_EQ(da->profile, db->profile);
  EXPECT_EQ(dc->profile, db->profile);
}

// A report of a queue on a path is passed on at once, not at the room's next second, and only to
// the members whose stream met it: on a narrow path every directive to its listener takes bytes
// the queue needs to drain. Queue reports go on at most every 200 ms.
TEST(RelayRoomsUnit, AQueueReportReachesTheSenderAtOnceAndOnlyIt) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob");
  a.say(report(0));  // feeds the room: both get their second's directive
  ASSERT_EQ(a.peer->count<proto::QualityDirective>(), 1);
  ASSERT_EQ(b.peer->count<proto::QualityDirective>(), 1);
  f.advance(100);
  b.say(report(0, 18.0, 400));  // bob's way in fills up, within the same second
  ASSERT_EQ(a.peer->count<proto::QualityDirective>(), 2);  // at once
  const auto* d = a.peer->last<proto::QualityDirective>();
  EXPECT_DOUBLE_EQ(*d->capacity_kbps, 18);
  EXPECT_DOUBLE_EQ(*d->queue_ms, 400);
  EXPECT_EQ(b.peer->count<proto::QualityDirective>(), 1);  // nothing early for bob
  f.advance(100);
  b.say(report(0, 17.0, 450));  // 100 ms later: waits
  EXPECT_EQ(a.peer->count<proto::QualityDirective>(), 2);
  f.advance(100);
  b.say(report(0, 16.0, 450));  // 200 ms after the last: goes
  EXPECT_EQ(a.peer->count<proto::QualityDirective>(), 3);
  EXPECT_DOUBLE_EQ(*a.peer->last<proto::QualityDirective>()->capacity_kbps, 16);
}

// Loss on a path whose last report showed none is passed on at once too; loss that goes on
// waits for the room's second like any other report.
TEST(RelayRoomsUnit, NewLossReachesTheSenderAtOnce) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob");
  b.say(report(0));
  ASSERT_EQ(a.peer->count<proto::QualityDirective>(), 1);
  f.advance(100);
  b.say(report(6));  // within the same second, bob's way in starts losing
  ASSERT_EQ(a.peer->count<proto::QualityDirective>(), 2);
  EXPECT_DOUBLE_EQ(*a.peer->last<proto::QualityDirective>()->loss_percent, 6);
  f.advance(250);
  b.say(report(7));  // the loss goes on: nothing early
  EXPECT_EQ(a.peer->count<proto::QualityDirective>(), 2);
  f.advance(700);  // the room's second
  b.say(report(7));
  EXPECT_EQ(a.peer->count<proto::QualityDirective>(), 3);
  EXPECT_DOUBLE_EQ(*a.peer->last<proto::QualityDirective>()->loss_percent, 7);
}

// Behind a path that loses most packets a member sends copies of its report in datagrams. The
// relay takes the first copy and no other (nor the stream's copy of the same report, nor an
// older one), takes nothing but a report from a datagram, and sends copies of that member's
// directive in datagrams too.
TEST(RelayRoomsUnit, AReportInDatagramsIsTakenOnceAndADirectiveSentBackTheSameWay) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob");
  proto::QualityUpdate q = report(80);
  for (uint32_t seq = 1; seq <= 3; ++seq) {
    q.seq = seq;
    const auto copy = proto::signal_datagram(q);
    for (int i = 0; i < 3; ++i) b.send(copy);
    f.advance(1000);
  }
  EXPECT_EQ(f.relay.stats().signal_datagrams_in, 3u);  // the first copy of each
  EXPECT_EQ(f.relay.stats().signal_datagrams_stale, 6u);
  EXPECT_DOUBLE_EQ(*a.peer->last<proto::QualityDirective>()->loss_percent, 80);
  // bob's own way in loses 80 %: his directives come in datagrams as well, six copies of each.
  std::map<uint32_t, int> copies;
  for (const auto& d : b.peer->datagrams) {
    auto m = proto::parse_signal_datagram(d);
    ASSERT_TRUE(m.ok());
    ++copies[std::get<proto::QualityDirective>(m.value()).seq.value()];
  }
  ASSERT_FALSE(copies.empty());
  for (const auto& [seq, n] : copies) EXPECT_EQ(n, 6) << seq;
  EXPECT_EQ(copies.rbegin()->first, *b.peer->last<proto::QualityDirective>()->seq);
  EXPECT_TRUE(a.peer->datagrams.empty());  // alice reported no loss at all
  const uint64_t taken = f.relay.stats().signal_datagrams_in;
  // The same report on the stream, and an older one, change nothing.
  b.say(q);
  q.seq = *q.seq - 1;
  q.loss_percent = 0;
  b.send(proto::signal_datagram(q));
  EXPECT_EQ(f.relay.stats().signal_datagrams_stale, 8u);
  // Anything else in a datagram is refused and counted: a Mute would have been shown to alice.
  const size_t updates = a.peer->count<proto::RoomUpdate>();
  b.send(proto::signal_datagram(proto::Mute{}));
  const std::vector<uint8_t> junk = {proto::tag_byte(proto::FrameTag::kSignal), '{', 'x'};
  b.send(junk);
  q.seq.reset();  // a report without its seq cannot be told from a copy
  b.send(proto::signal_datagram(q));
  EXPECT_EQ(f.relay.stats().dropped_bad_signal, 3u);
  EXPECT_EQ(a.peer->count<proto::RoomUpdate>(), static_cast<long>(updates));
  EXPECT_EQ(f.relay.stats().signal_datagrams_in, taken);
  EXPECT_NE(
      f.relay.metrics_text().find("wzp_relay_signal_datagrams_total{outcome=\"report_taken\"} " +
                                  std::to_string(taken) + "\n"),
      std::string::npos);
}

// The transport finds the way to a listener narrow (its join's probe train, or a queue): the
// talker is told that capacity at once, before the listener could report it, and so is a member
// who joins while the measurement is recent (30 s), but not one who joins after.
TEST(RelayRoomsUnit, ANarrowPathToAMemberIsToldToItsTalkersAndToLateJoiners) {
  SimRelay f;
  auto &talker = f.join("ops", "alice"), &listener = f.join("ops", "bob");
  listener.peer->st.pacer.limiting = true;
  listener.peer->st.pacer.capacity_kbps = 24;
  listener.peer->st.pacer.queue_ms = 120;
  f.relay.narrow_path(*listener.peer);
  const auto* d = talker.peer->last<proto::QualityDirective>();
  ASSERT_TRUE(d && d->capacity_kbps);
  EXPECT_DOUBLE_EQ(*d->capacity_kbps, 24);
  EXPECT_DOUBLE_EQ(*d->queue_ms, 120);
  EXPECT_EQ(f.relay.stats().narrow_paths, 1u);
  const auto told = [](const SimMember& m) {
    const auto* x = m.peer->last<proto::QualityDirective>();
    return x && x->capacity_kbps;
  };
  f.advance(2500);
  auto& late = f.join("ops", "carol");
  EXPECT_TRUE(told(late));
  f.advance(30000);
  auto& later = f.join("ops", "dave");
  EXPECT_FALSE(told(later));
  // A path the transport found open again is no narrow path.
  listener.peer->st.pacer.limiting = false;
  f.relay.narrow_path(*listener.peer);
  EXPECT_EQ(f.relay.stats().narrow_paths, 1u);
}

// The room as a member was last told it, by display name.
std::map<std::string, proto::Participant> by_name(const SimMember& m) {
  std::map<std::string, proto::Participant> by;
  const auto m_room = m.known_room();
  for (const auto& p : m_room->participants) by[p.display_name] = p;
  return by;
}

TEST(RelayRoomsUnit, SenderKeysReachOnlyTheirAddresseeUnopened) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob"), &c = f.join("ops", "carol");
  const auto by = by_name(a);
  crypto::OwnSenderKey key(by.at("alice").session_id);
  auto sk = crypto::seal_sender_key(a.id, key, by.at("bob"));
  ASSERT_TRUE(sk.ok()) << sk.error().message();
  a.say(*sk);
  ASSERT_EQ(b.peer->count<proto::SenderKey>(), 1);
  EXPECT_EQ(c.peer->count<proto::SenderKey>(), 0);
  EXPECT_EQ(a.peer->count<proto::SenderKey>(), 0);
  // Bob opens it; the relay could not have (it is not addressed to the relay).
  const auto& received = *b.peer->last<proto::SenderKey>();
  EXPECT_TRUE(crypto::open_sender_key(b.id, received, b.pending.ephemeral_public).ok());
  EXPECT_FALSE(crypto::open_sender_key(f.relay_id, received, received.to_ephemeral).ok());
}

// A member behind a path losing most packets sends its keys in datagram copies as well. The
// relay checks a datagram's key as it checks the stream's (a forgery ends the session), passes
// the first arrival of each key on in datagrams (one at least; more toward a lossy listener)
// and drops the sender's further copies, while the stream's copy still goes on the stream.
TEST(RelayRoomsUnit, AKeyInDatagramsIsCheckedAndPassedOnOnce) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob"), &m = f.join("ops", "mallory");
  const auto by = by_name(a);
  crypto::OwnSenderKey key(by.at("alice").session_id);
  const auto sk = *crypto::seal_sender_key(a.id, key, by.at("bob"));
  const auto keys_to_bob = [&] {
    int n = 0;
    for (const auto& d : b.peer->datagrams) {
      auto msg = proto::parse_signal_datagram(d);
      n += msg.ok() && std::holds_alternative<proto::SenderKey>(msg.value());
    }
    return n;
  };
  for (int i = 0; i < 3; ++i) a.send(proto::signal_datagram(sk));
  EXPECT_EQ(keys_to_bob(), 1);  // bob reported no loss: one copy, the first
  EXPECT_EQ(f.relay.stats().key_datagrams_in, 3u);
  EXPECT_EQ(f.relay.stats().key_datagrams_stale, 2u);
  a.say(sk);  // the stream's copy: on bob's stream, no more datagrams
  EXPECT_EQ(b.peer->count<proto::SenderKey>(), 1);
  EXPECT_EQ(keys_to_bob(), 1);
  const auto received =
      std::get<proto::SenderKey>(proto::parse_signal_datagram(b.peer->datagrams.back()).value());
  EXPECT_TRUE(crypto::open_sender_key(b.id, received, b.pending.ephemeral_public).ok());

  // Bob's way in loses 80 %: alice's next key, sent on the stream alone, goes to him in six
  // datagram copies beside it.
  b.say(report(80));
  key.rotate();
  a.say(*crypto::seal_sender_key(a.id, key, by.at("bob")));
  EXPECT_EQ(keys_to_bob(), 1 + 6);
  EXPECT_EQ(f.relay.stats().key_datagrams_out, 7u);

  // A forged key by datagram is a forgery like any other.
  crypto::OwnSenderKey alices_session(by.at("alice").session_id);
  m.send(proto::signal_datagram(*crypto::seal_sender_key(m.id, alices_session, by.at("bob"))));
  EXPECT_EQ(f.relay.stats().forged_sender_keys, 1u);
  EXPECT_EQ(m.hangup_reason(), "SenderKey for another member's session or identity");
  EXPECT_EQ(keys_to_bob(), 7);
  EXPECT_NE(f.relay.metrics_text().find(
                "wzp_relay_signal_datagrams_total{outcome=\"key_already_sent\"} 2\n"),
            std::string::npos);
}

// A hostile member hands Bob a key for Alice's session, or one that claims Alice's identity:
// the relay drops it, counts it and hangs the forger up; Bob never sees it, Alice stays.
TEST(RelayRoomsUnit, ForgedSenderKeyIsDroppedAndItsSenderCutOff) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob"), &m = f.join("ops", "mallory"),
       &m2 = f.join("ops", "mallory2");
  const auto by = by_name(a);
  crypto::OwnSenderKey alices_session(by.at("alice").session_id);
  m.say(*crypto::seal_sender_key(m.id, alices_session, by.at("bob")));
  crypto::OwnSenderKey own(by.at("mallory2").session_id);
  auto claims = *crypto::seal_sender_key(m2.id, own, by.at("bob"));
  claims.from = by.at("alice").fingerprint;
  m2.say(claims);
  EXPECT_EQ(f.relay.stats().forged_sender_keys, 2u);
  EXPECT_EQ(m.hangup_reason(), "SenderKey for another member's session or identity");
  EXPECT_FALSE(m2.closed().empty());
  EXPECT_EQ(b.peer->count<proto::SenderKey>(), 0);
  EXPECT_TRUE(a.closed().empty());
  EXPECT_TRUE(b.closed().empty());
  EXPECT_EQ(f.relay.members(proto::room_sni("ops")), 2u);
  EXPECT_NE(f.relay.metrics_text().find("wzp_relay_forged_sender_keys_total 2"), std::string::npos);
}

TEST(RelayRoomsUnit, BadSignallingGetsAHangupWithAReasonOthersUnaffected) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob");
  const std::vector<uint8_t> junk = {0, 0, 0, 3, '{', '{', '{'};
  f.relay.stream(*a.peer, junk);
  f.settle();
  EXPECT_EQ(a.hangup_reason().find("bad signalling"), 0u) << a.hangup_reason();
  EXPECT_FALSE(a.closed().empty());
  EXPECT_TRUE(b.closed().empty());
  EXPECT_EQ(f.relay.members(proto::room_sni("ops")), 1u);
  // A member that says anything before its CallOffer is turned away.
  auto& early = f.connect(proto::room_sni("ops"));
  early.say(proto::Mute{});
  EXPECT_EQ(early.hangup_reason(), "CallOffer expected first");
  // One structured line per lifecycle event, each valid JSON.
  std::map<std::string, int> events;
  for (const auto& line : f.log) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    ++events[j.value("event", "")];
  }
  EXPECT_EQ(events["connect"], 3);
  EXPECT_EQ(events["join"], 2);
  EXPECT_EQ(events["hangup"], 2);
  EXPECT_EQ(events["leave"], 1);
  EXPECT_EQ(events["disconnect"], 2);
}

// A member whose name (or agreement key) would bloat everyone's RoomUpdate is turned away with
// the reason; before, a 60 KB name pushed every update past the signalling frame limit and
// every honest member disconnected and redialled forever.
TEST(RelayRoomsUnit, OversizedMemberFieldsAreRefusedAndOthersStay) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob");
  auto& big = f.join("ops", std::string(60000, 'x'));
  EXPECT_EQ(big.hangup_reason(), "display name longer than 64 bytes");
  auto& fat = f.connect(proto::room_sni("ops"));
  fat.offer("fat", std::nullopt,
            [](proto::CallOffer& o) { o.agreement_sig = proto::Bytes(30000, 1); });
  EXPECT_EQ(fat.hangup_reason(), "agreement key must be 32 bytes and its signature 64");
  EXPECT_TRUE(a.closed().empty());
  EXPECT_TRUE(b.closed().empty());
  EXPECT_EQ(f.relay.members(proto::room_sni("ops")), 2u);
}

TEST(RelayRoomsUnit, AccessListsAdmitOnlyTheListedFingerprints) {
  SimRelay f;
  crypto::Identity alice = crypto::Identity::generate();
  f.relay.set_room_acls({{"ops", {alice.fingerprint()}}});
  auto& a = f.connect(proto::room_sni("ops"));
  a.id = alice;
  a.offer("alice");
  auto& b = f.join("ops", "bob");
  EXPECT_TRUE(a.answered());
  EXPECT_NE(b.closed().find("access list"), std::string::npos) << b.closed();
  EXPECT_EQ(f.relay.members(proto::room_sni("ops")), 1u);
  // The relay knows this room's name from its access list: its log lines say it beside the hash.
  const auto joined = std::find_if(f.log.begin(), f.log.end(), [](const std::string& l) {
    return l.find("\"event\":\"join\"") != std::string::npos;
  });
  ASSERT_NE(joined, f.log.end());
  EXPECT_NE(joined->find("\"room\":\"" + proto::room_sni("ops") + "\",\"room_name\":\"ops\""),
            std::string::npos)
      << *joined;
}

// An invite-only room: the relay admits only offers whose key hashes to the SNI. The observer
// who copies the SNI, a forger with a key of another secret, and a guesser who knows the name
// all stay out; the two holders hear each other.
TEST(RelayRoomsUnit, AnInviteOnlyRoomRefusesAnObserverAForgerAndAGuesser) {
  SimRelay f;
  const auto room =
      proto::room_address("ops", proto::parse_room_secret("00112233445566778899aabbccddeeff"));
  ASSERT_TRUE(room.key);
  auto& a = f.connect(room.sni);
  a.offer("alice", room.key);
  auto& b = f.connect(room.sni);
  b.offer("bob", room.key);
  auto& observer = f.connect(room.sni);
  observer.offer("eve");
  const auto other =
      proto::room_address("ops", proto::parse_room_secret("ffeeddccbbaa99887766554433221100"));
  auto& forger = f.connect(room.sni);
  forger.offer("mallory", other.key);
  auto& guesser = f.join("ops", "trudy");  // the name alone: the open room of that name
  ASSERT_TRUE(a.answered() && b.answered() && guesser.answered());
  EXPECT_NE(observer.closed().find("invite-only"), std::string::npos) << observer.closed();
  EXPECT_NE(forger.closed().find("invite-only"), std::string::npos) << forger.closed();
  EXPECT_FALSE(observer.answered() || forger.answered());
  EXPECT_EQ(f.relay.members(room.sni), 2u);
  EXPECT_EQ(f.relay.members(proto::room_sni("ops")), 1u);
  a.send_media('A');
  guesser.send_media('T');
  EXPECT_EQ(b.peer->media().markers, (std::set<uint8_t>{'A'}));
  const auto metrics = f.relay.metrics_text();
  EXPECT_NE(metrics.find("wzp_relay_invites_refused_total 2"), std::string::npos);
  EXPECT_NE(metrics.find("wzp_relay_invite_rooms 1"), std::string::npos);
}

// A member on a path that carries large packets can send datagrams longer than a trunk entry
// holds: they are dropped and counted by reason, and the rest of its media still flows.
TEST(RelayRoomsUnit, OversizedDatagramsAreDroppedAndCounted) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob");
  std::vector<uint8_t> huge(3000, 'H');
  huge[0] = proto::tag_byte(proto::FrameTag::kFull);
  for (int i = 0; i < 5; ++i) a.send(huge);
  a.send_media('A');
  EXPECT_EQ(f.relay.stats().dropped_oversized, 5u);
  EXPECT_EQ(b.peer->media().markers, (std::set<uint8_t>{'A'}));
  EXPECT_NE(f.relay.metrics_text().find(R"(wzp_relay_dropped_total{reason="oversized"} 5)"),
            std::string::npos);
  EXPECT_TRUE(a.closed().empty());
}

// One member floods the room with random datagrams, 6 000 in 200 ms: it is rate-limited, then
// cut off; the call between the two others carries on.
TEST(RelayRoomsUnit, MalformedDatagramStormDoesNotDisturbOthers) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob"), &m = f.join("ops", "mallory");
  std::mt19937 rng(3);
  int sent = 0;
  for (int i = 0; i < 6000; ++i) {
    std::vector<uint8_t> junk(1 + rng() % 200);
    for (auto& x : junk) x = static_cast<uint8_t>(rng());
    m.send(junk);
    if (i % 30 == 0) {
      a.send_media('A');
      b.send_media('B');
      ++sent;
      f.advance(1);
    }
  }
  EXPECT_GT(f.relay.stats().dropped_rate, 0u);
  EXPECT_EQ(f.relay.stats().cut_off, 1u);
  EXPECT_EQ(m.hangup_reason(), "packet rate exceeded");
  EXPECT_EQ(a.peer->media().from.begin()->second, sent);  // every one of bob's
  EXPECT_EQ(b.peer->media().from.begin()->second, sent);
  EXPECT_TRUE(a.closed().empty());
  EXPECT_TRUE(b.closed().empty());
}

// A member that floods signalling (RegisterPresence with a bad signature, an Ed25519
// verification each, and Pings the relay answers) is read up to its allowance (200 at once, 50
// a second), dropped beyond it and cut off when it keeps on; the others carry on.
TEST(RelayRoomsUnit, ASignallingFloodIsDroppedAndItsSenderCutOff) {
  SimRelay f;
  auto &a = f.join("ops", "alice"), &b = f.join("ops", "bob"), &m = f.join("ops", "mallory");
  proto::RegisterPresence fake;
  fake.identity_pub = proto::Bytes(32, 0xaa);
  fake.signature = proto::Bytes(64, 0xbb);
  for (int i = 0; i < 3000 && !m.peer->gone; ++i) {
    if (i % 2) {
      m.say(fake);
    } else {
      m.say(proto::Ping{static_cast<uint64_t>(i), 0});
    }
    if (i % 100 == 0) f.advance(20);  // 3 000 messages in 600 ms
  }
  EXPECT_EQ(m.hangup_reason(), "signalling rate exceeded");
  EXPECT_LE(m.peer->count<proto::Pong>(), 200 / 2 + 20);  // the burst and the rate meanwhile
  EXPECT_GE(f.relay.stats().signal_rate_dropped, 500u);
  EXPECT_EQ(f.relay.stats().cut_off, 1u);
  a.send_media('A');
  EXPECT_EQ(b.peer->media().markers, (std::set<uint8_t>{'A'}));
  EXPECT_TRUE(a.closed().empty() && b.closed().empty());
}

// A session that sends nothing for the idle timeout is hung up at the next sweep (once a second
// at most); one that keeps talking stays.
TEST(RelayRoomsUnit, IdleSessionsAreHungUpAtTheNextSweep) {
  RelayConfig rc;
  rc.idle_timeout = std::chrono::milliseconds(3000);
  SimRelay f(rc);
  auto &quiet = f.join("ops", "quiet"), &talker = f.join("ops", "talker");
  for (int ms = 0; ms < 2900; ms += 20) {
    talker.send_media('T');
    f.advance(20);
  }
  EXPECT_TRUE(quiet.closed().empty());
  for (int ms = 0; ms < 1200 && quiet.closed().empty(); ms += 20) {
    talker.send_media('T');
    f.advance(20);
  }
  EXPECT_EQ(quiet.hangup_reason(), "idle for more than 3 s");
  EXPECT_TRUE(talker.closed().empty());
  EXPECT_EQ(f.relay.stats().idle_expired, 1u);
}

TEST(RelayRoomsUnit, ARelayFullOfSessionsRefusesTheNextAndAFullRoomItsNextMember) {
  RelayConfig rc;
  rc.max_sessions = 3;
  rc.max_participants_per_room = 2;
  SimRelay f(rc);
  auto &a = f.join("ops", "a"), &b = f.join("ops", "b"), &c = f.join("ops", "c");
  EXPECT_TRUE(a.answered() && b.answered());
  EXPECT_EQ(c.hangup_reason(), "room full");
  auto& d = f.connect(proto::room_sni("dev"));  // c's session is gone: room for one more
  d.offer("d");
  EXPECT_TRUE(d.answered());
  auto& e = f.connect(proto::room_sni("dev"));
  EXPECT_EQ(e.closed(), "relay full");
  EXPECT_EQ(f.relay.sessions(), 3u);
}

}  // namespace
}  // namespace wzp::relay
