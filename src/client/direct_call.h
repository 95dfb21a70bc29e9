// The direct-call flow over a registered SignalSession, the same for every front end (the CLI;
// the page next): place a call to a fingerprint, hear it ring, be offered one and answer or
// decline it, hang up. The relay names a private room once a call is accepted; the front end
// starts its call there with the peer as the only member expected (start_call), and ends it
// when either side hangs up (end_call). Messages for other calls are told apart by their id.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "proto/signal_message.h"

namespace wzp::client {

struct DirectCallEvent {
  enum class Kind {
    kCalling,    // our offer went out
    kIncoming,   // someone calls us (peer, display_name)
    kRinging,    // the callee is being offered our call
    kConnected,  // accepted: the private room is `room`
    kDeclined,   // our call was declined (reason)
    kEnded,      // the current call ended (reason)
    kOtherEnded  // another call of ours ended (call_id, reason)
  } kind;
  std::string call_id, peer, display_name, room, reason;
};

class DirectCallFlow {
 public:
  struct Hooks {
    // On the signalling session; false when it is not registered.
    std::function<bool(const proto::SignalMessage&)> send;
    // The call in the private room, with `peer` its only expected member.
    std::function<void(const std::string& room, const std::string& peer)> start_call;
    std::function<void(const std::string& why)> end_call;
    std::function<void(const DirectCallEvent&)> on_event;
    // A fresh call id (random in the apps; counted in tests).
    std::function<std::string()> new_call_id;
  };
  DirectCallFlow(Hooks hooks, bool auto_answer = false);

  // Calls `fingerprint`, shown to it as `name` when set.
  void place(const std::string& fingerprint, const std::optional<std::string>& name);
  // Answers the last incoming call; false when there is none.
  bool answer(bool accept);
  // Ends the current call: the other side is told, the front end's call ends.
  void hang_up(const std::string& why = "hung up");
  // A message from the session; true when it was part of the flow.
  bool on_message(const proto::SignalMessage& m);

  const std::string& call_id() const { return call_id_; }  // the current call's, or empty
  bool in_call() const { return in_call_; }

 private:
  void emit(DirectCallEvent e) {
    if (hooks_.on_event) hooks_.on_event(e);
  }

  Hooks hooks_;
  bool auto_answer_;
  std::string call_id_;             // ours: placed, or answered
  std::string incoming_id_, peer_;  // the last offer's id; the other party's fingerprint
  bool in_call_ = false;
};

}  // namespace wzp::client
