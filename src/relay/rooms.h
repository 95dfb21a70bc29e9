// The relay's rooms: who is in each, to whom a member's media goes (everyone else; in the echo
// room, only the sender), the RoomUpdates members are sent on a change, and the room's
// quality: the weakest link's reports, fed to one controller per room, and the directives each
// member is sent from them. Sessions are the relay's; a room only points at them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "proto/quality_controller.h"
#include "relay/session.h"
#include "relay/stats.h"

namespace wzp::relay {

class Rooms {
 public:
  Rooms(RelayStats& stats, std::string echo_sni);

  size_t count() const { return rooms_.size(); }
  size_t members(const std::string& room) const;
  size_t participants() const;
  size_t invite_rooms() const;
  // f(room SNI, members) for every room.
  template <class F>
  void for_each_room(F&& f) const {
    for (const auto& [sni, room] : rooms_) f(sni, room.members.size());
  }

  // Joins `s` to its room (s.room): it is sent the whole room, the others only its entry.
  // now_ms: the relay's clock.
  void add(Session& s, uint64_t now_ms);
  // Takes `s` out of its room; the others are told, and a room left empty is gone.
  void remove(Session& s);
  // f(member) for every member of `room`.
  template <class F>
  void for_each_member(const std::string& room, F&& f) {
    if (auto it = rooms_.find(room); it != rooms_.end()) {
      for (Session* m : it->second.members) f(*m);
    }
  }
  // Every member that hears `from`'s media: everyone else, or in the echo room only `from`.
  template <class F>
  void for_each_receiver(const Session& from, F&& f) {
    auto it = rooms_.find(from.room);
    if (it == rooms_.end()) return;
    const bool echo = from.room == echo_sni_;
    for (Session* other : it->second.members) {
      if ((other == &from) != echo) continue;
      f(*other);
    }
  }
  // A member's own SenderKey, to the member of the room it is addressed to, on the connection
  // it names (a second session of the same identity has an offer of its own). What came on the
  // stream goes on the stream; the first arrival of a key (either way) also goes in datagram
  // copies, as many as the receiver's loss calls for (at least one when it came as a datagram),
  // and later datagram copies of it are dropped.
  void forward_sender_key(const Session& from, const proto::SenderKey& key, bool by_datagram,
                          uint64_t now_ms);
  // `s` changed (its mute): every member of its room is told (a RoomUpdate delta).
  void changed(const Session& s);

  // A member's report; false when it is not newer than the one held (a copy).
  bool on_quality(Session& s, const proto::QualityUpdate& q, uint64_t now_ms);
  // The relay's own measurement of a narrow way to `s` (its transport's pacer).
  void on_narrow_path(Session& s, double capacity_kbps, double queue_ms, uint64_t now_ms);

  // Prometheus families for each room's weakest link and tier.
  void metrics(std::string& out) const;

 private:
  struct Room {
    std::set<Session*> members;
    // The controller fed with the weakest member's report, once a second at most.
    proto::QualityController controller;
    std::optional<uint64_t> last_fed_ms, last_queue_fed_ms;  // the latter: a queue reported
  };
  // A RoomUpdate delta naming `s` as it now is (it joined or changed).
  static proto::RoomUpdate entry_of(const Session& s);
  // Every member of `room` but `except` is sent `u`.
  static void tell(const Room& room, const proto::RoomUpdate& u, const Session* except = nullptr);
  // Directives to the room's members from their reports. queue: a report of a queue on a path;
  // new_loss: a report of loss after one of none. Either is passed on at once (at most every
  // 200 ms), the rest once a second.
  void direct(Room& room, bool queue, bool new_loss, uint64_t now_ms);
  static std::pair<double, double> capacity_of(const Session& m, uint64_t now_ms);
  // Datagram copies a signalling message to m is worth (proto::signal_copies of its loss).
  static int signal_copies_to(const Session& m, uint64_t now_ms);

  RelayStats& stats_;
  std::string echo_sni_;
  std::map<std::string, Room> rooms_;
  uint32_t directive_seq_ = 0;  // QualityDirective.seq: counts every directive sent
};

}  // namespace wzp::relay
