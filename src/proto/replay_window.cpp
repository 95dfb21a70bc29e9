#include "proto/replay_window.h"

namespace wzp::proto {

ReplayWindow::Verdict ReplayWindow::check(uint64_t counter) const {
  if (!started_ || counter > highest_) return Verdict::kFresh;
  if (highest_ - counter >= kSize) return Verdict::kTooOld;
  return test(counter) ? Verdict::kDuplicate : Verdict::kFresh;
}

void ReplayWindow::commit(uint64_t counter) {
  if (!started_) {
    started_ = true;
    highest_ = counter;
    bits_.fill(0);
  } else if (counter > highest_) {
    if (counter - highest_ >= kSize) {
      bits_.fill(0);
    } else {
      for (uint64_t c = highest_ + 1; c < counter; ++c) clear(c);
    }
    highest_ = counter;
  } else if (highest_ - counter >= kSize) {
    return;
  }
  set(counter);
}

}  // namespace wzp::proto
