// A call in a relay room, end to end: QUIC to the relay, the per-hop handshake, sender keys
// handed to every member (and rotated when one joins or leaves, and every few minutes), our
// media through a CallEncoder under our sender key, and one CallDecoder per other member,
// mixed for playout. Audio comes from a source callback and goes to a sink callback, 20 ms at
// a time. All its time (the 5 ms steps, liveness, key rotation, the redial schedule) comes from
// one proto::Scheduler on the io_context.
//
// The call survives its relay: when the connection drops, it dials again on SignalSession's
// schedule (at once, then 1, 2, 4, 8, 15, 30 s...) with a new handshake, the same room and a
// new sender key, and media resumes without the user doing anything. move_to() switches relays
// the same way. A relay in doubt (proto::Liveness: a Ping every 500 ms, nothing heard for 2 s)
// is asked with a bare handshake on the side, once a second, whether it is there at all: a path
// that is down answers nothing, so the connection is kept and media resumes the moment the path is
// back; a relay that answers the side handshake but not our connection has lost us (restarted,
// say), and we dial again.
// Only a refusal before joining (access list, auth, room full) ends it.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "client/call_decoder.h"
#include "client/call_encoder.h"
#include "crypto/handshake.h"
#include "crypto/identity.h"
#include "crypto/sender_keys.h"
#include "proto/liveness.h"
#include "proto/redial_schedule.h"
#include "proto/room_name.h"
#include "proto/roster.h"
#include "proto/signal_framing.h"
#include "transport/asio_scheduler.h"
#include "transport/endpoint.h"
#include "transport/quic.h"

namespace wzp::client {

// Someone came, went, or reappeared under a name we knew with another identity.
struct MemberEvent {
  enum class Kind { kJoined, kLeft, kIdentityChanged } kind = Kind::kJoined;
  proto::Participant who;
  std::string safety_number;  // ours with theirs (crypto::safety_number)
  bool expected = true;       // in RoomCallOptions::expect, or no list was given
  bool own_identity = false;  // another session of our own identity (a second terminal)
};

struct RoomCallOptions {
  std::string room = "lobby";
  // Set: the invite-only room of that name and secret (proto::room_address), which the
  // relay opens only to offers carrying its key. Unset: the open room, anyone who knows the name.
  std::optional<std::vector<uint8_t>> secret;
  std::string display_name;
  std::string token;  // sent first (AuthToken) when the relay checks tokens
  CallEncoderConfig encoder;
  // The relay certificate's fingerprint decides the handshake (pinning); true accepts.
  std::function<bool(const std::string& fingerprint)> verify_relay;
  // Runs our 20 ms clock this many ppm fast (negative: slow), as a sound card's crystal might:
  // for drift tests.
  double clock_skew_ppm = 0;
  // When not empty: the only fingerprints we hand our key to (`--expect`, a direct call's
  // peer). Anyone else the relay lists hears nothing of us, and is reported as unexpected.
  std::vector<std::string> expect;
  // Every join and leave, as the relay announced it (the relay alone says who is here: show
  // it to the user).
  std::function<void(const MemberEvent&)> on_member;
  // Our sender key is replaced whenever someone joins or leaves, and at least this often.
  std::chrono::milliseconds key_rotation{std::chrono::minutes(5)};
  // Other relays of the cluster (numeric HOST:PORT). While ours is in doubt, the next of them
  // is asked with a bare handshake beside ours: when it answers and ours does not, ours is
  // gone (not our path), and the call moves there on its own; a dial that ours leaves
  // unanswered moves on to the next one too. The cluster pipes the call to its room's home.
  std::vector<transport::Address> fallbacks;
  // Decides on a relay's certificate by which relay it is (pins are per relay); unset: only
  // verify_relay, which must then follow on_move.
  std::function<bool(const transport::Address& relay, const std::string& fingerprint)>
      verify_relay_at;
  // The call moved to another relay of the cluster (see fallbacks).
  std::function<void(const transport::Address& relay)> on_move;
};

struct RoomCallStatus {
  bool connected = false;  // joined, on the current connection
  bool failed = false;     // refused for good: closed_reason says why
  bool reconnecting = false;
  bool unresolved = false;  // the relay's host name did not resolve, the last time it was looked up
  uint32_t reconnects = 0;  // successful rejoins after a loss
  uint64_t keys_refused = 0;  // SenderKeys refused: not opening, or for another member's session
  // Copies of our quality reports sent in datagrams, and relay directives taken from datagrams
  // (a path losing 20 % or more: proto::signal_copies).
  uint64_t reports_by_datagram = 0, directives_by_datagram = 0;
  uint64_t keys_by_datagram = 0;  // members' sender keys that came as datagram copies
  size_t unexpected = 0;          // members not in RoomCallOptions::expect (our key withheld)
  std::string closed_reason;
  size_t members = 0;  // others in the room
  CallEncoderStats sent;
  CallDecoderStats received;  // summed over members
  double rtt_ms = 0;
  proto::Tier tier = proto::Tier::kGood;
  proto::CodecId codec = proto::CodecId::kOpus24k;  // what we send
  double repairs_per_frame = 0;
  double path_budget_kbps = 0;  // what the path may carry of ours; 0: it has shown no limit
  // Receive side, the worst over the members we hear.
  double loss_percent = 0;  // before FEC, over the last second
  double jitter_ms = 0;
  uint32_t buffer_delay_ms = 0;               // the jitter buffer's playout delay
  uint64_t accelerated = 0, decelerated = 0;  // time-stretch steps taken by the jitter buffers
  std::optional<double> drift_ppm;            // the first member's clock against ours
};

class RoomCall : public transport::QuicEvents {
 public:
  // source fills 20 ms of PCM and returns false when it has no more (silence is sent then);
  // sink receives 20 ms of mixed playout.
  using Source = std::function<bool(std::span<int16_t>)>;
  using Sink = std::function<void(std::span<const int16_t>)>;

  RoomCall(boost::asio::io_context& io, const boost::asio::ip::udp::endpoint& relay,
           const crypto::Identity& identity, RoomCallOptions options, Source source, Sink sink);
  // A relay named by host (or a numeric address): looked up before every dial.
  RoomCall(boost::asio::io_context& io, const transport::Address& relay,
           const crypto::Identity& identity, RoomCallOptions options, Source source, Sink sink);
  ~RoomCall() override;

  void hang_up();
  // Continue the call through another relay (same room).
  void move_to(const boost::asio::ip::udp::endpoint& relay);
  void move_to(const transport::Address& relay);
  RoomCallStatus status() const;
  // The others in the room, as the relay announced them.
  std::vector<proto::Participant> members() const;
  // Whether a member gets our key: in RoomCallOptions::expect, or no list was given.
  bool expected(const proto::Participant& p) const;
  size_t member_count() const { return peers_.size(); }
  // Mute: silence is sent instead of the source (the source is not consulted), and the relay
  // is told, so that the others see it (Participant::muted in members()).
  void set_muted(bool muted);
  // Whether we heard a member's voice in the last 300 ms (the speaking indicator).
  bool speaking(uint32_t session) const;
  // The sessions speaking now, in session order.
  std::vector<uint32_t> speaking_sessions() const;
  // How loud an identity plays in our mix: 0 (silenced) to 4, 1 by default. Kept across its
  // rejoins, for at most kMaxVolumes identities (the oldest setting goes first).
  void set_volume(const std::string& fingerprint, double gain);
  static constexpr size_t kMaxVolumes = 64;

 private:
  struct Peer {
    proto::Participant info;
    std::unique_ptr<SenderKeyOpener> opener;
    std::unique_ptr<CallDecoder> decoder;
    uint64_t speaking_until = 0;  // now_ms() until which it counts as speaking
    double gain = 1;
  };
  // A 20 ms frame over -40 dBFS is voice (comfort noise sits far below); shown for 300 ms.
  static constexpr double kSpeakingEnergy = 327.68 * 327.68 * static_cast<double>(kPcmFrame);
  static constexpr uint64_t kSpeakingHoldMs = 300;

  // The transport's events (public as QuicEvents, not for callers).
  void on_established(transport::QuicConnection& c) override;
  void on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) override;
  void on_datagram(transport::QuicConnection& c, std::span<const uint8_t> d) override;
  void on_closed(transport::QuicConnection& c, const std::string& reason) override;

 private:
  void handle(const proto::SignalMessage& msg);
  void on_room(const proto::RoomUpdate& u);
  void give_key(const proto::Participant& p);
  void install_key(crypto::ReceivedSenderKey k);
  void rotate_key();  // a fresh sender key, handed to everyone in the room we hand keys to
  void announce(MemberEvent::Kind kind, const proto::Participant& p);
  void step();
  void schedule_step();
  void tick();
  uint64_t now_ms() const { return scheduler_.now_ms(); }
  void dial();
  void lost(const std::string& reason);  // schedule the next dial on the backoff
  void check_liveness();                 // on every tick: see the class comment
  void drop_probe();
  // Fallbacks (RoomCallOptions::fallbacks): probe the next one; move to the one that answered.
  void probe_fallback(uint64_t now);
  void drop_fallback();
  void move_on(size_t to);

  // The side handshake of a silent relay (see the class comment): answered once established.
  struct Probe final : transport::QuicEvents {
    explicit Probe(const proto::Scheduler& s) : scheduler(s) {}
    const proto::Scheduler& scheduler;
    bool answered = false;
    uint64_t answered_at = 0;
    std::unique_ptr<transport::QuicClient> quic;
    void on_established(transport::QuicConnection&) override {
      answered = true;
      answered_at = scheduler.now_ms();
    }
  };

  struct Wire : DatagramSink {
    transport::QuicConnection* conn = nullptr;
    void send(std::span<const uint8_t> d) override {
      if (conn) conn->send_datagram(d);
    }
  };

  boost::asio::io_context& io_;
  RoomCall(boost::asio::io_context& io, transport::Peer relay, const crypto::Identity& identity,
           RoomCallOptions options, Source source, Sink sink);
  void connect();                         // dial's second half, once the relay's address is known
  void start_probe();                     // a bare handshake to relay_ on the side (check_liveness)
  boost::asio::ip::udp::endpoint relay_;  // where we dial (the last lookup of relay_name_)
  std::optional<transport::Address> relay_name_;  // set: a host name, looked up at each dial
  bool resolving_ = false;
  bool unresolved_ = false;    // the last lookup of relay_name_ failed
  bool probe_lookup_ = false;  // check_liveness is looking the relay's name up before a probe
  uint64_t dials_ = 0;         // a lookup's answer counts only for the dial that asked
  const crypto::Identity& identity_;
  RoomCallOptions options_;
  proto::RoomAddress address_;  // the room's SNI and, invite-only, its key
  Source source_;
  Sink sink_;
  std::unique_ptr<transport::QuicClient> quic_;
  proto::SignalFrameReader reader_;
  crypto::PendingOffer pending_;
  crypto::SenderKeyStore keys_;
  std::optional<crypto::OwnSenderKey> own_key_;
  std::unique_ptr<SenderKeySealer> sealer_;
  Wire wire_;
  std::unique_ptr<CallEncoder> encoder_;
  std::map<uint32_t, Peer> peers_;          // by session id
  CallDecoderStats departed_;               // what members who left had received
  uint64_t last_sent_ = 0, last_lost_ = 0;  // QUIC datagram counters at the last report
  uint64_t acked_seen_ = 0;   // our datagrams the relay acknowledged, when liveness last looked
  double uplink_loss_ = 0;    // percent, over the last second
  double received_loss_ = 0;  // percent, worst member, over the last second
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for handlers that outlive us
  uint64_t step_timer_ = 0;                                     // the next step's, on scheduler_
  static constexpr uint64_t kStepsPerFrame = 4;                 // 5 ms steps
  uint64_t steps_ = 0;
  uint64_t ticks_ = 0;
  uint64_t last_report_tick_ = 0;  // our last QualityUpdate
  // Reports and directives carry a seq per connection: ours counts up, the relay's newest is
  // kept (their copies in datagrams and on the stream are the same message).
  uint32_t report_seq_ = 0;
  proto::NewestSeq directive_seq_;
  // Our last report in a datagram, sent once a frame tick while copies are left: on a path
  // losing most packets the stream's copy waits behind retransmissions (proto::signal_copies).
  std::vector<uint8_t> report_datagram_;
  int report_copies_left_ = 0;
  // Our keys' datagram copies still to send (give_key), one a tick, at most one per member.
  struct KeyCopies {
    uint32_t to = 0;  // the member's session
    std::vector<uint8_t> datagram;
    int left = 0;  // 0: not decided yet (key_copies_for)
    uint64_t queued_at = 0;
  };
  // How many copies a queued key is worth, once the path is known (0: none; nullopt: wait).
  std::optional<int> key_copies_for(const KeyCopies& k, uint64_t now) const;
  static constexpr int kMinKeyCopies = 4;
  static constexpr uint64_t kUnjudgedMs = 1000;
  static constexpr size_t kMaxQueuedKeys = 64;
  std::deque<KeyCopies> key_copies_;
  // Keys that opened but whose sender the room does not list yet (they came by datagram ahead
  // of the RoomUpdate): tried again at the next update, the oldest dropped past the bound.
  static constexpr size_t kMaxUnlistedKeys = 16;
  proto::Roster roster_;  // the room as the relay's updates list it
  std::deque<crypto::ReceivedSenderKey> unlisted_keys_;
  uint64_t keys_by_datagram_ = 0;
  uint64_t signal_datagrams_sent_ = 0, directives_by_datagram_ = 0;
  bool joined_ = false, failed_ = false, hung_up_ = false;
  bool ever_joined_ = false, muted_ = false;
  uint32_t reconnects_ = 0;
  uint64_t keys_refused_ = 0;  // SenderKeys that did not open or named another member's session
  uint64_t rotated_at_ = 0;    // now_ms() of our key's last rotation
  std::optional<uint32_t> my_session_;  // the relay's id for this connection's session
  static constexpr size_t kPastSessions = 8;
  std::deque<uint32_t> past_sessions_;  // ours on earlier connections, newest last
  // Listed with our identity under a session id we held before: most likely our own session
  // from before a redial, not yet timed out by the relay (not announced as a join or leave).
  bool our_old_session(const proto::Participant& p) const;
  crypto::PeerDirectory directory_;  // names seen with their fingerprints, for changes
  std::deque<std::pair<std::string, double>> volumes_;  // set_volume's, oldest first
  // The redial after a loss, on the schedule the signalling session follows too.
  transport::AsioScheduler scheduler_;
  proto::RedialSchedule redial_{scheduler_, [this] { dial(); }};
  proto::Liveness liveness_;
  static constexpr uint64_t kLookupWithinMs = 5000;  // a relay's name looked up
  static constexpr uint64_t kHeldMs = 5000;          // a connection that held: backoff over
  static constexpr uint64_t kProbeEveryMs = 1000;    // side handshakes while in doubt
  static constexpr uint64_t kProbeAnsweredMs = 500;  // then our connection must be heard
  uint64_t probed_at_ = 0;
  std::unique_ptr<Probe> probe_;
  // The relays of the cluster: where we started, then the fallbacks; at_ is ours, and the
  // fallback probe asks probing_ (the next after at_ in turn).
  std::vector<transport::Address> cluster_;
  size_t at_ = 0, probing_ = 0;
  std::unique_ptr<Probe> fallback_probe_;
  uint64_t fallback_probed_at_ = 0;
  // A fallback that answered waits this long for ours to answer too (it may just be farther).
  static constexpr uint64_t kFallbackMarginMs = 300;
  std::string closed_reason_;
  std::vector<int16_t> pcm_, mix_, part_;
};

}  // namespace wzp::client
