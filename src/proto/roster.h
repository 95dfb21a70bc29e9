// The room's members as a member knows them from the relay's RoomUpdates: the whole room in
// the first, then the changes to it (RoomUpdate::delta). A relay that lists more than
// kMaxMembers is not followed past them (the additions are counted as ignored).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

#include "proto/signal_message.h"

namespace wzp::proto {

class Roster {
 public:
  static constexpr size_t kMaxMembers = 1024;

  void apply(const RoomUpdate& u) {
    if (!u.delta.value_or(false)) members_.clear();
    if (u.left) {
      for (uint32_t id : *u.left) members_.erase(id);
    }
    for (const auto& p : u.participants) {
      if (members_.size() >= kMaxMembers && !members_.contains(p.session_id)) {
        ++ignored_;
        continue;
      }
      members_[p.session_id] = p;
    }
  }
  void clear() { members_.clear(); }

  // By session id.
  const std::map<uint32_t, Participant>& members() const { return members_; }
  size_t size() const { return members_.size(); }
  uint64_t ignored() const { return ignored_; }

 private:
  std::map<uint32_t, Participant> members_;
  uint64_t ignored_ = 0;
};

}  // namespace wzp::proto
