#include "relay/rooms.h"

#include <algorithm>
#include <vector>

#include "proto/prometheus.h"
#include "proto/room_name.h"

namespace wzp::relay {

Rooms::Rooms(RelayStats& stats, std::string echo_sni)
    : stats_(stats), echo_sni_(std::move(echo_sni)) {}

size_t Rooms::members(const std::string& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? 0 : it->second.members.size();
}

size_t Rooms::participants() const {
  size_t n = 0;
  for (const auto& [name, r] : rooms_) n += r.members.size();
  return n;
}

size_t Rooms::invite_rooms() const {
  size_t n = 0;
  for (const auto& [name, r] : rooms_) n += proto::is_invite_sni(name);
  return n;
}

void Rooms::add(Session& s, uint64_t now_ms) {
  auto& room = rooms_[s.room];
  room.members.insert(&s);
  // The newcomer is told the whole room, the others only that it came.
  proto::RoomUpdate all{.room = s.room, .participants = {}};
  for (Session* m : room.members) all.participants.push_back(m->info);
  s.send(all);
  tell(room, entry_of(s), &s);
  // A narrow path already known in the room (a member's probe train showed it) bounds the
  // newcomer's stream before its first packet, not a queue later.
  if (room.members.size() > 1) direct(room, true, false, now_ms);
}

void Rooms::remove(Session& s) {
  auto it = rooms_.find(s.room);
  if (it == rooms_.end()) return;
  it->second.members.erase(&s);
  if (it->second.members.empty()) {
    rooms_.erase(it);  // rooms exist while someone is in them
    return;
  }
  tell(it->second,
       {.room = s.room, .participants = {}, .delta = true, .left = {{s.info.session_id}}});
}

void Rooms::forward_sender_key(const Session& from, const proto::SenderKey& key, bool by_datagram,
                               uint64_t now_ms) {
  auto it = rooms_.find(from.room);
  if (it == rooms_.end()) return;
  for (Session* other : it->second.members) {
    if (other == &from || other->info.fingerprint != key.to ||
        other->info.offer_ephemeral != key.to_ephemeral) {
      continue;
    }
    if (!by_datagram) other->send(key);
    // Copies go once per key: for the first datagram of it, or for its stream copy when the
    // way to the member calls for copies. A stream copy that needed none leaves the sender's
    // datagrams to be passed on (they may well arrive before it).
    const int copies = std::max(signal_copies_to(*other, now_ms), by_datagram ? 1 : 0);
    if (copies == 0) continue;
    if (!other->first_copy_of(from.info.session_id, key.key_id)) {
      if (by_datagram) ++stats_.key_datagrams_stale;
      continue;
    }
    const auto datagram = proto::signal_datagram(key);
    for (int i = 0; i < copies; ++i) other->peer->send_datagram(datagram);
    stats_.key_datagrams_out += static_cast<uint64_t>(copies);
  }
}

// On a way to the member that loses most packets, copies in datagrams too: the stream's copy
// can wait seconds behind retransmissions there. Not where that way shows a limit (its loss is
// a queue overflowing, which copies would only feed). The way's loss is the worse of what the
// member last reported and what QUIC saw of our datagrams to it: at a join, and on a way that
// loses most of the member's reports, the member's word comes late.
int Rooms::signal_copies_to(const Session& m, uint64_t now_ms) {
  const auto q = m.peer->stats();
  const bool narrow = capacity_of(m, now_ms).first > 0 || q.pacer.limiting;
  if (narrow) return 0;
  return proto::signal_copies(std::max(m.quality ? m.quality->loss_percent : 0.0,
                                       transport::judged_datagram_loss(q).value_or(0.0)));
}

void Rooms::changed(const Session& s) {
  if (auto it = rooms_.find(s.room); it != rooms_.end()) tell(it->second, entry_of(s));
}

proto::RoomUpdate Rooms::entry_of(const Session& s) {
  return {.room = s.room, .participants = {s.info}, .delta = true};
}

void Rooms::tell(const Room& room, const proto::RoomUpdate& u, const Session* except) {
  for (Session* m : room.members) {
    if (m != except) m->send(u);
  }
}

// The room follows its weakest link: once a second (at once for a queue on a path) the worst
// member report feeds the room's controller (the same hysteresis as a client's), so that the
// tier is one for the whole room.
// The loss each member sizes its protection for is the worst among the members that receive its
// stream, which excludes its own report: a listener behind a lossy path does not protect its own
// sending for the loss on its way in (on a capped path that only fills its own uplink).
bool Rooms::on_quality(Session& s, const proto::QualityUpdate& q, uint64_t now_ms) {
  if (!s.report_seq.take(q.seq)) {
    ++stats_.signal_datagrams_stale;  // a copy of one we had, or overtaken by a newer one
    return false;
  }
  const bool new_loss = q.loss_percent >= 1 && (!s.quality || s.quality->loss_percent < 1);
  s.quality = q;
  if (auto it = rooms_.find(s.room); it != rooms_.end() && s.joined) {
    direct(it->second, q.capacity_kbps.value_or(0) > 0, new_loss, now_ms);
  }
  return true;
}

// The relay's own view of the path to a member: the probe train it sent on joining, or a queue
// standing in front of what it forwards there (its datagrams are being shed to keep it short),
// gives that member's path capacity before the member itself could report it.
void Rooms::on_narrow_path(Session& s, double capacity_kbps, double queue_ms, uint64_t now_ms) {
  s.leg = {capacity_kbps, queue_ms, now_ms};
  ++stats_.narrow_paths;
  if (auto it = rooms_.find(s.room); it != rooms_.end()) direct(it->second, true, false, now_ms);
}

// A member's path capacity: its own report's, or the relay's measurement of the way to it
// when that is narrower and recent (kLegMs: a member joining a while later is told it too).
std::pair<double, double> Rooms::capacity_of(const Session& m, uint64_t now_ms) {
  double cap = m.quality ? m.quality->capacity_kbps.value_or(0) : 0;
  double queue = m.quality ? m.quality->queue_ms.value_or(0) : 0;
  if (m.leg.capacity_kbps > 0 && now_ms - m.leg.at_ms < Session::kLegMs &&
      (cap <= 0 || m.leg.capacity_kbps < cap)) {
    cap = m.leg.capacity_kbps, queue = m.leg.queue_ms;
  }
  return {cap, queue};
}

void Rooms::direct(Room& rq, bool queue, bool new_loss, uint64_t now) {
  // A report of a queue on a path is passed on at once (its sender should cut before the queue
  // grows further), at most every 200 ms, and only to the members whose stream met the queue;
  // so is loss on a path that showed none (its senders protect the rest of the second). The
  // room's tier and every other report wait for the second (on a narrow path each directive to
  // its listener takes bytes the queue needs to drain).
  const bool early = rq.last_fed_ms && now - *rq.last_fed_ms < 900;
  if (early &&
      (!(queue || new_loss) || (rq.last_queue_fed_ms && now - *rq.last_queue_fed_ms < 200)))
    return;
  if (!early) rq.last_fed_ms = now;
  // The worst of every report but `except`'s (nullptr: of all of them).
  const auto worst_of = [&](const Session* except) {
    proto::QualitySample worst;
    for (Session* m : rq.members) {
      if (m == except) continue;
      const auto [cap, queue_ms] = capacity_of(*m, now);
      if (cap > 0 && (worst.capacity_kbps == 0 || cap < worst.capacity_kbps)) {
        worst.capacity_kbps = cap;
        worst.queue_ms = std::clamp(queue_ms, 0.0, 60000.0);
      }
      if (!m->quality) continue;
      if (m->quality->loss_percent >= worst.loss_percent) {
        worst.loss_percent = m->quality->loss_percent;
        worst.mean_burst = m->quality->mean_burst.value_or(1.0);
        worst.packets = proto::reported_count(m->quality->packets);
      }
      worst.reorder = std::max(worst.reorder, proto::reported_count(m->quality->reorder));
      worst.rtt_ms = std::max<double>(worst.rtt_ms, m->quality->rtt_ms);
      worst.jitter_ms = std::max<double>(worst.jitter_ms, m->quality->jitter_ms);
    }
    return worst;
  };
  if (!early) rq.controller.on_report(worst_of(nullptr), 0);
  const std::string tier(proto::tier_name(rq.controller.tier()));
  for (Session* m : rq.members) {
    const proto::QualitySample others = worst_of(m);
    if (early && others.capacity_kbps <= 0 && !(new_loss && others.loss_percent >= 1)) continue;
    if ((queue && others.capacity_kbps > 0) || new_loss)
      rq.last_queue_fed_ms = now;  // once one carries it
    proto::QualityDirective d;
    d.profile = tier;
    d.loss_percent = others.loss_percent;
    d.mean_burst = others.mean_burst;
    d.packets = others.packets;
    // The capacity too is the narrowest among the paths its stream takes to the others: its own
    // report measures what reaches it, which a sparse stream (a listener's comfort noise,
    // behind its own congested connection) can make look like a path of 2 kbit/s.
    if (others.capacity_kbps > 0)
      d.capacity_kbps = others.capacity_kbps, d.queue_ms = others.queue_ms;
    if (others.reorder > 0) d.reorder = others.reorder;
    d.reason = "weakest link";
    d.seq = ++directive_seq_;
    m->send(d);
    const int copies = signal_copies_to(*m, now);
    if (copies > 0) {
      const auto datagram = proto::signal_datagram(d);
      for (int i = 0; i < copies; ++i) m->peer->send_datagram(datagram);
      stats_.signal_datagrams_out += static_cast<uint64_t>(copies);
    }
  }
}

void Rooms::metrics(std::string& out) const {
  // Quality per room: the weakest member's latest report (rooms are their hashed SNI).
  std::vector<proto::Sample> loss, rtt, jitter, tier;
  for (const auto& [room, r] : rooms_) {
    proto::QualityUpdate worst;
    bool any = false;
    for (const Session* m : r.members) {
      if (!m->quality) continue;
      any = true;
      worst.loss_percent = std::max(worst.loss_percent, m->quality->loss_percent);
      worst.rtt_ms = std::max(worst.rtt_ms, m->quality->rtt_ms);
      worst.jitter_ms = std::max(worst.jitter_ms, m->quality->jitter_ms);
    }
    if (!any) continue;
    const std::string label = "{room=\"" + room + "\"}";
    loss.push_back({label, worst.loss_percent / 100});
    rtt.push_back({label, worst.rtt_ms / 1000.0});
    jitter.push_back({label, worst.jitter_ms / 1000.0});
    tier.push_back({label, static_cast<double>(static_cast<int>(r.controller.tier()))});
  }
  proto::family(out, "wzp_relay_room_loss_ratio", "gauge",
                "Loss before FEC reported by the room's weakest member.", loss);
  proto::family(out, "wzp_relay_room_rtt_seconds", "gauge",
                "Largest round trip reported in the room.", rtt);
  proto::family(out, "wzp_relay_room_jitter_seconds", "gauge",
                "Largest jitter reported in the room.", jitter);
  proto::family(out, "wzp_relay_room_tier", "gauge",
                "The room's tier from its weakest link: 0 good, 1 degraded, 2 catastrophic.", tier);
}

}  // namespace wzp::relay
