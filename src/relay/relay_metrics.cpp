// The relay's Prometheus exposition (docs/TELEMETRY.md lists every family).
#include <array>

#include "proto/prometheus.h"
#include "relay/relay.h"

#include "proto/room_name.h"

namespace wzp::relay {

using proto::family;

DirectoryLoad Relay::directory_load() const {
  DirectoryLoad load;
  load.sessions = sessions_.size();
  rooms_.for_each_room([&](const std::string& sni, size_t members) {
    if (sni != echo_sni_) load.rooms.emplace_back(sni, members);
  });
  calls_.for_each_registered([&](const std::string& fp) { load.present.push_back(fp); });
  return load;
}

bool Relay::local_only(const std::string& sni) const {
  static const std::string presence = proto::room_sni("presence");
  return sni == echo_sni_ || sni == presence || calls_.parties(sni) != nullptr;
}

void media_metrics(std::string& out, const RelayStats& st) {
  const auto n = [](uint64_t v) { return static_cast<double>(v); };
  family(out, "wzp_relay_datagrams_received_total", "counter", "Media datagrams received.",
         {{"", n(st.datagrams_in)}});
  family(out, "wzp_relay_datagrams_sent_total", "counter", "Media datagrams forwarded.",
         {{"", n(st.datagrams_out)}});
  family(out, "wzp_relay_bytes_received_total", "counter", "Media bytes received.",
         {{"", n(st.bytes_in)}});
  family(out, "wzp_relay_bytes_sent_total", "counter", "Media bytes forwarded.",
         {{"", n(st.bytes_out)}});
  family(out, "wzp_relay_dropped_total", "counter", "Datagrams dropped, by reason.",
         {{R"({reason="not_joined"})", n(st.dropped_not_joined)},
          {R"({reason="send_failed"})", n(st.dropped_send)},
          {R"({reason="not_media"})", n(st.dropped_not_media)},
          {R"({reason="rate_limited"})", n(st.dropped_rate)},
          {R"({reason="oversized"})", n(st.dropped_oversized)},
          {R"({reason="bad_signal"})", n(st.dropped_bad_signal)}});
  family(out, "wzp_relay_cut_off_total", "counter", "Sessions cut off for flooding.",
         {{"", n(st.cut_off)}});
  st.latency.write(out, "wzp_relay_forward_latency_seconds",
                   "Arrival to last copy handed to the transport.");
}

std::string Relay::metrics_text() const {
  const auto& st = stats_;
  const auto n = [](uint64_t v) { return static_cast<double>(v); };
  std::string out;
  family(out, "wzp_relay_sessions", "gauge", "Open client sessions.", {{"", n(sessions_.size())}});
  family(out, "wzp_relay_rooms", "gauge", "Rooms with at least one member.",
         {{"", n(rooms_.count())}});
  family(out, "wzp_relay_invite_rooms", "gauge",
         "Of those, invite-only rooms (joined with the room's key; the others are open to anyone "
         "who knows the name).",
         {{"", n(rooms_.invite_rooms())}});
  family(out, "wzp_relay_participants", "gauge", "Members of all rooms.",
         {{"", n(rooms_.participants())}});
  media_metrics(out, st);
  family(out, "wzp_relay_signal_datagrams_total", "counter",
         "Quality reports, directives and sender keys as datagrams beside the stream: reports "
         "taken, reports not newer than the one held (a copy, by datagram or stream), directive "
         "copies sent, members' key copies taken, key copies of a key already passed on, key "
         "copies sent.",
         {{R"({outcome="report_taken"})", n(st.signal_datagrams_in)},
          {R"({outcome="report_not_newer"})", n(st.signal_datagrams_stale)},
          {R"({outcome="directive_sent"})", n(st.signal_datagrams_out)},
          {R"({outcome="key_taken"})", n(st.key_datagrams_in)},
          {R"({outcome="key_already_sent"})", n(st.key_datagrams_stale)},
          {R"({outcome="key_sent"})", n(st.key_datagrams_out)}});
  family(out, "wzp_relay_auth_total", "counter", "Token checks (--auth-url), by result.",
         {{R"({result="valid"})", n(st.auth_valid)},
          {R"({result="refused"})", n(st.auth_refused)},
          {R"({result="unavailable"})", n(st.auth_unavailable)}});
  family(out, "wzp_relay_idle_expired_total", "counter", "Sessions hung up for idleness.",
         {{"", n(st.idle_expired)}});
  family(out, "wzp_relay_trunk_frames_total", "counter",
         "Trunk frames sent with batched media (toward relays, or clients with trunk_clients).",
         {{"", n(st.trunk_frames)}});
  family(out, "wzp_relay_trunk_entries_total", "counter", "Media datagrams carried in them.",
         {{"", n(st.trunk_entries)}});
  family(out, "wzp_relay_probes_reflected_total", "counter",
         "Probe datagrams from peer relays answered.", {{"", n(st.probes_reflected)}});
  uint64_t stale = st.stale_dropped, shed = st.shed, measuring = 0, trains = st.probe_trains;
  uint64_t bare_sent = st.bare_sent, bare_received = st.bare_received,
           bare_rejected = st.bare_rejected;
  for (const auto& [peer, s] : sessions_) {
    const auto cs = peer->stats();
    stale += cs.datagrams_expired;
    shed += cs.datagrams_shed;
    measuring += cs.pacer.measuring;
    trains += cs.probe_trains;
    bare_sent += cs.bare_sent;
    bare_received += cs.bare_received;
    bare_rejected += cs.bare_rejected;
  }
  family(out, "wzp_relay_bare_datagrams_total", "counter",
         "Media sent beside a member's QUIC packets while its congestion window was full (a path "
         "losing most acknowledgements), and received so: taken, or dropped (did not open, or a "
         "replay).",
         {{R"({outcome="sent"})", n(bare_sent)},
          {R"({outcome="received"})", n(bare_received)},
          {R"({outcome="rejected"})", n(bare_rejected)}});
  family(out, "wzp_relay_stale_datagrams_total", "counter",
         "Media that waited too long for a slow member's path (congestion window) and was dropped.",
         {{"", n(stale)}});
  family(out, "wzp_relay_shed_datagrams_total", "counter",
         "Media not forwarded because a queue stood on the way to its member (it would have played "
         "late), or its path was being measured.",
         {{"", n(shed)}});
  family(out, "wzp_relay_paths_measuring", "gauge",
         "Members whose join's probe train is not yet acknowledged: media toward them is not "
         "forwarded meanwhile (1.5 s at most).",
         {{"", n(measuring)}});
  family(out, "wzp_relay_probe_trains_total", "counter",
         "Probe trains sent to measure the way to a member: one at each join, and again (twice at "
         "most) when loss left a train without a verdict.",
         {{"", n(trains)}});
  family(out, "wzp_relay_narrow_paths_total", "counter",
         "Times the way to a member was found narrow: by its join's probe train, or a queue "
         "standing (its senders were told its capacity).",
         {{"", n(st.narrow_paths)}});
  rooms_.metrics(out);
  family(out, "wzp_relay_handshakes_total", "counter", "Per-hop handshakes, by result.",
         {{R"({result="ok"})", n(st.handshakes_ok)},
          {R"({result="failed"})", n(st.handshakes_failed)}});
  family(out, "wzp_relay_signal_errors_total", "counter", "Malformed or out-of-order signalling.",
         {{"", n(st.signal_errors)}});
  family(out, "wzp_relay_signal_dropped_total", "counter",
         "Signalling messages dropped unread: over the session's allowance (50/s, 200 at once).",
         {{"", n(st.signal_rate_dropped)}});
  family(out, "wzp_relay_forged_sender_keys_total", "counter",
         "SenderKey messages for another member's session or identity (the sender is hung up).",
         {{"", n(st.forged_sender_keys)}});
  family(out, "wzp_relay_invites_refused_total", "counter",
         "Offers for an invite-only room without its key (hung up before joining).",
         {{"", n(st.invites_refused)}});
  family(out, "wzp_relay_presence_registrations_total", "counter",
         "Accepted presence registrations.", {{"", n(st.presence)}});
  family(out, "wzp_relay_direct_calls_total", "counter", "Direct calls offered.",
         {{"", n(st.calls_offered)}});
  family(out, "wzp_relay_direct_calls_connected_total", "counter", "Direct calls accepted.",
         {{"", n(st.calls_connected)}});
  family(out, "wzp_relay_direct_calls", "gauge",
         "Direct calls the relay tracks: ringing, or connected and not yet hung up.",
         {{"", n(calls_.calls())}});
  family(out, "wzp_relay_direct_call_messages_abroad_total", "counter",
         "Direct-call messages from other relays of the cluster (their inboxes): taken, or "
         "refused (about a call this relay does not share with the sender, or out of bounds).",
         {{R"({outcome="taken"})", n(st.calls_abroad_taken)},
          {R"({outcome="refused"})", n(st.calls_abroad_refused)}});
  return out;
}

}  // namespace wzp::relay
