#include "client/direct_call.h"

namespace wzp::client {

DirectCallFlow::DirectCallFlow(Hooks hooks, bool auto_answer)
    : hooks_(std::move(hooks)), auto_answer_(auto_answer) {}

void DirectCallFlow::place(const std::string& fingerprint, const std::optional<std::string>& name) {
  peer_ = fingerprint;
  call_id_ = hooks_.new_call_id();
  hooks_.send(proto::DirectCallOffer{call_id_, fingerprint, std::nullopt, name});
  emit({DirectCallEvent::Kind::kCalling, call_id_, fingerprint, {}, {}, {}});
}

bool DirectCallFlow::answer(bool accept) {
  if (incoming_id_.empty()) return false;
  hooks_.send(proto::DirectCallAnswer{incoming_id_, accept, std::nullopt, std::nullopt});
  if (!accept) incoming_id_.clear();
  return true;
}

void DirectCallFlow::hang_up(const std::string& why) {
  if (!in_call_) return;
  hooks_.send(proto::Hangup{call_id_, "bye"});
  in_call_ = false;
  hooks_.end_call(why);
  emit({DirectCallEvent::Kind::kEnded, call_id_, peer_, {}, {}, why});
  call_id_.clear();
}

bool DirectCallFlow::on_message(const proto::SignalMessage& m) {
  using K = DirectCallEvent::Kind;
  if (const auto* offer = std::get_if<proto::DirectCallOffer>(&m)) {
    incoming_id_ = offer->call_id;
    peer_ = offer->from.value_or("?");
    emit({K::kIncoming, incoming_id_, peer_, offer->display_name.value_or(""), {}, {}});
    if (auto_answer_) answer(true);
    return true;
  }
  if (std::holds_alternative<proto::CallRinging>(m)) {
    emit({K::kRinging, call_id_, peer_, {}, {}, {}});
    return true;
  }
  if (const auto* ans = std::get_if<proto::DirectCallAnswer>(&m)) {
    if (ans->accept && ans->room) {
      // Ours accepted, or the relay confirming the one we accepted: the two meet in its room.
      call_id_ = ans->call_id;
      incoming_id_.clear();
      in_call_ = true;
      hooks_.start_call(*ans->room, peer_);
      emit({K::kConnected, call_id_, peer_, {}, *ans->room, {}});
    } else {
      emit({K::kDeclined, ans->call_id, peer_, {}, {}, ans->reason.value_or("")});
    }
    return true;
  }
  if (const auto* h = std::get_if<proto::Hangup>(&m); h && h->call_id) {
    if (*h->call_id == call_id_ && in_call_) {
      in_call_ = false;
      hooks_.end_call("hung up by the other side (" + h->reason + ")");
      emit({K::kEnded, call_id_, peer_, {}, {}, h->reason});
    } else {
      // A call not (or no longer) connected: ours refused by the relay, or an old one.
      emit({K::kOtherEnded, *h->call_id, {}, {}, {}, h->reason});
    }
    if (*h->call_id == call_id_) call_id_.clear();
    if (*h->call_id == incoming_id_) incoming_id_.clear();
    return true;
  }
  return false;
}

}  // namespace wzp::client
