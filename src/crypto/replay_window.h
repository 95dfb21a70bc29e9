// The media AEAD's receive state (proto/replay_window.h) and what opening a payload can say.
#pragma once

#include "proto/replay_window.h"

namespace wzp::crypto {

using proto::ReceiveCounter;
using proto::ReplayWindow;

// The outcome of authenticating a received payload.
enum class OpenStatus { kOk, kReplayed, kTooOld, kAuthFailed };

inline OpenStatus admit_status(ReplayWindow::Verdict v) {
  switch (v) {
    case ReplayWindow::Verdict::kDuplicate:
      return OpenStatus::kReplayed;
    case ReplayWindow::Verdict::kTooOld:
      return OpenStatus::kTooOld;
    case ReplayWindow::Verdict::kFresh:
      break;
  }
  return OpenStatus::kOk;
}

}  // namespace wzp::crypto
