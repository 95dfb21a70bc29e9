// The room as a member knows it after the RoomUpdates it was sent (the whole room, then the
// changes to it), as one whole RoomUpdate; none before the first.
#pragma once

#include <optional>
#include <vector>

#include "proto/roster.h"
#include "proto/signal_message.h"

namespace wzp::relay::test {

inline std::optional<proto::RoomUpdate> room_view(const std::vector<proto::SignalMessage>& log) {
  proto::Roster roster;
  const proto::RoomUpdate* last = nullptr;
  for (const auto& m : log) {
    if (const auto* u = std::get_if<proto::RoomUpdate>(&m)) roster.apply(*(last = u));
  }
  if (!last) return std::nullopt;
  proto::RoomUpdate view{.room = last->room, .participants = {}};
  for (const auto& [id, p] : roster.members()) view.participants.push_back(p);
  return view;
}

}  // namespace wzp::relay::test
