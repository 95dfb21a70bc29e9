// SignalMessage: the control messages of the reliable channel. Each is a JSON object with a
// "type" field naming the message and one member per field below (docs/PROTOCOL.md,
// "Signalling"). Byte strings travel as lowercase hex. Unknown members are ignored so that
// newer peers can add fields; an unknown type or a missing required field is an error.
//
// Each message lists its fields once, in fields(); the JSON codec is generic over that list.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "proto/result.h"

namespace wzp::proto {

using Bytes = std::vector<uint8_t>;

template <class C, class M>
struct FieldDesc {
  const char* name;
  M C::*member;
};
template <class C, class M>
constexpr FieldDesc<C, M> field(const char* name, M C::*member) {
  return {name, member};
}

#define WZP_SIGNAL(Name)                           \
  static constexpr std::string_view kType = #Name; \
  bool operator==(const Name&) const = default;

// Handshake (per hop): ephemeral X25519 keys signed by Ed25519 identities.
struct CallOffer {
  WZP_SIGNAL(CallOffer)
  Bytes identity_pub;   // Ed25519 public key, 32 bytes
  Bytes ephemeral_pub;  // X25519 public key, 32 bytes
  Bytes signature;      // Ed25519 over ephemeral_pub || "call-offer"
  std::vector<std::string> supported_profiles;
  std::optional<std::string> display_name;
  // The static X25519 key that room members seal sender keys to, and the identity's
  // signature binding it (over "agreement-key" || agreement_pub).
  std::optional<Bytes> agreement_pub;
  std::optional<Bytes> agreement_sig;
  // An invite-only room's key (proto::room_address): the relay admits the offer to the
  // room its SNI names only when the key hashes to that SNI.
  std::optional<Bytes> room_key;
  static constexpr auto fields() {
    return std::make_tuple(field("identity_pub", &CallOffer::identity_pub),
                           field("ephemeral_pub", &CallOffer::ephemeral_pub),
                           field("signature", &CallOffer::signature),
                           field("supported_profiles", &CallOffer::supported_profiles),
                           field("display_name", &CallOffer::display_name),
                           field("agreement_pub", &CallOffer::agreement_pub),
                           field("agreement_sig", &CallOffer::agreement_sig),
                           field("room_key", &CallOffer::room_key));
  }
};

struct CallAnswer {
  WZP_SIGNAL(CallAnswer)
  Bytes identity_pub;
  Bytes ephemeral_pub;
  Bytes signature;  // Ed25519 over ephemeral_pub || "call-answer" || the offer's ephemeral_pub
  std::string chosen_profile;
  // From a relay: the session it gave the offerer, the one its media and SenderKeys go under
  // (a RoomUpdate may still list an older session of the same identity that has not timed out).
  std::optional<uint32_t> session_id;
  static constexpr auto fields() {
    return std::make_tuple(field("identity_pub", &CallAnswer::identity_pub),
                           field("ephemeral_pub", &CallAnswer::ephemeral_pub),
                           field("signature", &CallAnswer::signature),
                           field("chosen_profile", &CallAnswer::chosen_profile),
                           field("session_id", &CallAnswer::session_id));
  }
};

struct Rekey {
  WZP_SIGNAL(Rekey)
  uint32_t epoch = 0;  // the key epoch this exchange starts
  Bytes ephemeral_pub;
  Bytes signature;
  static constexpr auto fields() {
    return std::make_tuple(field("epoch", &Rekey::epoch),
                           field("ephemeral_pub", &Rekey::ephemeral_pub),
                           field("signature", &Rekey::signature));
  }
};

// A participant's view of its path, sent to the relay about once a second.
struct QualityUpdate {
  WZP_SIGNAL(QualityUpdate)
  double loss_percent = 0;
  uint32_t rtt_ms = 0;
  uint32_t jitter_ms = 0;
  std::string profile;
  std::optional<double> mean_burst;  // mean length of loss runs, packets
  std::optional<double> packets;     // packets the loss was measured over
  // What the path delivered while its queue grew (kbit/s of our datagrams): its capacity.
  std::optional<double> capacity_kbps;
  std::optional<double> queue_ms;  // the standing queue on the path with that capacity
  std::optional<double> reorder;   // deepest reordering seen, packets
  // Counts up with each report of a connection: its copies in datagrams (signal_datagram) and
  // on the stream share it, and the relay keeps only a newer one.
  std::optional<uint32_t> seq;
  static constexpr auto fields() {
    return std::make_tuple(
        field("loss_percent", &QualityUpdate::loss_percent),
        field("rtt_ms", &QualityUpdate::rtt_ms), field("jitter_ms", &QualityUpdate::jitter_ms),
        field("profile", &QualityUpdate::profile), field("mean_burst", &QualityUpdate::mean_burst),
        field("packets", &QualityUpdate::packets),
        field("capacity_kbps", &QualityUpdate::capacity_kbps),
        field("queue_ms", &QualityUpdate::queue_ms), field("reorder", &QualityUpdate::reorder),
        field("seq", &QualityUpdate::seq));
  }
};

// From the relay: everyone in the room switches to this profile.
struct QualityDirective {
  WZP_SIGNAL(QualityDirective)
  std::string profile;
  std::optional<std::string> reason;
  // The worst view among the members that receive this member's stream, so that each sender
  // sizes its FEC for its worst receiver (a member's own report is not in its directive).
  std::optional<double> loss_percent;
  std::optional<double> mean_burst;
  std::optional<double> packets;
  std::optional<double> capacity_kbps;  // the smallest capacity a member's path showed
  std::optional<double> queue_ms;       // the standing queue on that path
  std::optional<double> reorder;        // the deepest reordering a member saw
  std::optional<uint32_t> seq;          // as QualityUpdate's, counting the relay's directives
  static constexpr auto fields() {
    return std::make_tuple(
        field("profile", &QualityDirective::profile), field("reason", &QualityDirective::reason),
        field("loss_percent", &QualityDirective::loss_percent),
        field("mean_burst", &QualityDirective::mean_burst),
        field("packets", &QualityDirective::packets),
        field("capacity_kbps", &QualityDirective::capacity_kbps),
        field("queue_ms", &QualityDirective::queue_ms),
        field("reorder", &QualityDirective::reorder), field("seq", &QualityDirective::seq));
  }
};

struct Ping {
  WZP_SIGNAL(Ping)
  uint64_t id = 0;
  uint64_t timestamp_ms = 0;
  static constexpr auto fields() {
    return std::make_tuple(field("id", &Ping::id), field("timestamp_ms", &Ping::timestamp_ms));
  }
};

// Echoes the Ping's id and timestamp.
struct Pong {
  WZP_SIGNAL(Pong)
  uint64_t id = 0;
  uint64_t timestamp_ms = 0;
  static constexpr auto fields() {
    return std::make_tuple(field("id", &Pong::id), field("timestamp_ms", &Pong::timestamp_ms));
  }
};

struct Hangup {
  WZP_SIGNAL(Hangup)
  std::optional<std::string> call_id;  // absent: the whole session
  std::string reason;
  static constexpr auto fields() {
    return std::make_tuple(field("call_id", &Hangup::call_id), field("reason", &Hangup::reason));
  }
};

struct AuthToken {
  WZP_SIGNAL(AuthToken)
  std::string token;
  static constexpr auto fields() { return std::make_tuple(field("token", &AuthToken::token)); }
};

struct Mute {
  WZP_SIGNAL(Mute)
  static constexpr auto fields() { return std::tuple<>(); }
};
struct Unmute {
  WZP_SIGNAL(Unmute)
  static constexpr auto fields() { return std::tuple<>(); }
};
struct Hold {
  WZP_SIGNAL(Hold)
  static constexpr auto fields() { return std::tuple<>(); }
};
struct Unhold {
  WZP_SIGNAL(Unhold)
  static constexpr auto fields() { return std::tuple<>(); }
};

struct Participant {
  uint32_t session_id = 0;
  std::string fingerprint;
  std::string display_name;
  Bytes identity_pub;   // Ed25519; its fingerprint must equal `fingerprint`
  Bytes agreement_pub;  // X25519, for sealing sender keys
  Bytes agreement_sig;  // identity's signature over "agreement-key" || agreement_pub
  // The X25519 ephemeral of the CallOffer that opened this member's connection: a sender key
  // for this member names it, so a key recorded on one connection cannot be replayed on the
  // next (the member chose it alone; a relay that lies about it only keeps keys from it).
  std::optional<Bytes> offer_ephemeral;
  // Set by the relay while the member has said it is muted (Mute, Unmute): shown to the others.
  // The relay's word, as all of membership is; the media says nothing either way.
  std::optional<bool> muted;
  bool operator==(const Participant&) const = default;
  static constexpr auto fields() {
    return std::make_tuple(field("session_id", &Participant::session_id),
                           field("fingerprint", &Participant::fingerprint),
                           field("display_name", &Participant::display_name),
                           field("identity_pub", &Participant::identity_pub),
                           field("agreement_pub", &Participant::agreement_pub),
                           field("agreement_sig", &Participant::agreement_sig),
                           field("offer_ephemeral", &Participant::offer_ephemeral),
                           field("muted", &Participant::muted));
  }
};

// From the relay on every join, leave and mute: the room's members. The first a member is sent
// on joining lists the whole room; after it, each lists only what changed (`delta`): the members
// who joined or changed in `participants`, the sessions that left in `left`. On a narrow path a
// join then costs the others one entry, not the whole room again (docs/PROTOCOL.md §2.1).
struct RoomUpdate {
  WZP_SIGNAL(RoomUpdate)
  std::string room;
  std::vector<Participant> participants;
  std::optional<bool> delta;                  // absent or false: `participants` is everyone
  std::optional<std::vector<uint32_t>> left;  // with `delta`: the sessions no longer here
  static constexpr auto fields() {
    return std::make_tuple(field("room", &RoomUpdate::room),
                           field("participants", &RoomUpdate::participants),
                           field("delta", &RoomUpdate::delta), field("left", &RoomUpdate::left));
  }
};

struct RegisterPresence {
  WZP_SIGNAL(RegisterPresence)
  Bytes identity_pub;
  uint64_t timestamp_ms = 0;  // unix time; the relay refuses stale registrations
  // Ed25519 over "register-presence" || timestamp (u64 BE) || challenge
  Bytes signature;
  std::optional<std::string> display_name;
  // The relay's nonce for this connection (RegisterPresenceAck::challenge): a registration
  // signed for one connection cannot be replayed on another, nor to another relay. Without
  // it the relay answers with the challenge and registers nothing.
  std::optional<Bytes> challenge;
  static constexpr auto fields() {
    return std::make_tuple(field("identity_pub", &RegisterPresence::identity_pub),
                           field("timestamp_ms", &RegisterPresence::timestamp_ms),
                           field("signature", &RegisterPresence::signature),
                           field("display_name", &RegisterPresence::display_name),
                           field("challenge", &RegisterPresence::challenge));
  }
};

struct RegisterPresenceAck {
  WZP_SIGNAL(RegisterPresenceAck)
  std::string fingerprint;
  bool accepted = false;
  std::optional<std::string> reason;
  std::optional<Bytes> challenge;  // set when not accepted: register again, signing this
  static constexpr auto fields() {
    return std::make_tuple(field("fingerprint", &RegisterPresenceAck::fingerprint),
                           field("accepted", &RegisterPresenceAck::accepted),
                           field("reason", &RegisterPresenceAck::reason),
                           field("challenge", &RegisterPresenceAck::challenge));
  }
};

struct DirectCallOffer {
  WZP_SIGNAL(DirectCallOffer)
  std::string call_id;
  std::string to;                   // callee fingerprint
  std::optional<std::string> from;  // caller fingerprint, filled in by the relay
  std::optional<std::string> display_name;
  static constexpr auto fields() {
    return std::make_tuple(field("call_id", &DirectCallOffer::call_id),
                           field("to", &DirectCallOffer::to), field("from", &DirectCallOffer::from),
                           field("display_name", &DirectCallOffer::display_name));
  }
};

struct DirectCallAnswer {
  WZP_SIGNAL(DirectCallAnswer)
  std::string call_id;
  bool accept = false;
  std::optional<std::string> reason;
  std::optional<std::string> room;  // the private room, filled in by the relay on accept
  static constexpr auto fields() {
    return std::make_tuple(
        field("call_id", &DirectCallAnswer::call_id), field("accept", &DirectCallAnswer::accept),
        field("reason", &DirectCallAnswer::reason), field("room", &DirectCallAnswer::room));
  }
};

struct CallRinging {
  WZP_SIGNAL(CallRinging)
  std::string call_id;
  static constexpr auto fields() {
    return std::make_tuple(field("call_id", &CallRinging::call_id));
  }
};

// A media sender key sealed to one recipient's X25519 identity key (end-to-end; the relay
// forwards it unopened).
struct SenderKey {
  WZP_SIGNAL(SenderKey)
  std::string from;    // sender fingerprint
  std::string to;      // recipient fingerprint
  Bytes identity_pub;  // sender's Ed25519 key; fingerprint_of(identity_pub) == from
  uint32_t session_id = 0;
  uint32_t key_id = 0;
  Bytes sealed_key;  // crypto_box_seal of key (32) || key_id (u32 BE) || session_id (u32 BE)
  Bytes signature;   // over "sender-key" || from || to || session_id || key_id || sealed_key
                     //   || to_ephemeral
  // The recipient's offer_ephemeral: the key is for that connection of the recipient only.
  Bytes to_ephemeral;
  static constexpr auto fields() {
    return std::make_tuple(
        field("from", &SenderKey::from), field("to", &SenderKey::to),
        field("identity_pub", &SenderKey::identity_pub),
        field("session_id", &SenderKey::session_id), field("key_id", &SenderKey::key_id),
        field("sealed_key", &SenderKey::sealed_key), field("signature", &SenderKey::signature),
        field("to_ephemeral", &SenderKey::to_ephemeral));
  }
};

struct FederationHello {
  WZP_SIGNAL(FederationHello)
  std::string relay_id;
  uint32_t version = 0;
  std::vector<std::string> rooms;
  static constexpr auto fields() {
    return std::make_tuple(field("relay_id", &FederationHello::relay_id),
                           field("version", &FederationHello::version),
                           field("rooms", &FederationHello::rooms));
  }
};

struct GlobalRoomActive {
  WZP_SIGNAL(GlobalRoomActive)
  std::string room;
  std::string relay_id;
  static constexpr auto fields() {
    return std::make_tuple(field("room", &GlobalRoomActive::room),
                           field("relay_id", &GlobalRoomActive::relay_id));
  }
};

struct GlobalRoomInactive {
  WZP_SIGNAL(GlobalRoomInactive)
  std::string room;
  std::string relay_id;
  static constexpr auto fields() {
    return std::make_tuple(field("room", &GlobalRoomInactive::room),
                           field("relay_id", &GlobalRoomInactive::relay_id));
  }
};

#undef WZP_SIGNAL

using SignalMessage =
    std::variant<CallOffer, CallAnswer, Rekey, QualityUpdate, QualityDirective, Ping, Pong, Hangup,
                 AuthToken, Mute, Unmute, Hold, Unhold, RoomUpdate, RegisterPresence,
                 RegisterPresenceAck, DirectCallOffer, DirectCallAnswer, CallRinging, SenderKey,
                 FederationHello, GlobalRoomActive, GlobalRoomInactive>;

std::string_view signal_type(const SignalMessage& msg);
std::string encode_signal(const SignalMessage& msg);
Result<SignalMessage> decode_signal(std::string_view json_text);

}  // namespace wzp::proto
