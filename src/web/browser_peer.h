// One browser: a full participant toward the relay (its own identity, a RoomCall and a
// SignalSession that keeps it registered). Transport-neutral: the WebSocket side hands it the
// page's messages and gives it ways to send and to close.
#pragma once

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/quic_signal.h"
#include "crypto/identity.h"
#include "web/bridge_state.h"
#include "web/control_message.h"
#include "web/out_queue.h"

namespace wzp::client {
class RoomCall;
class SignalSession;
struct SignalEvent;
}  // namespace wzp::client

namespace wzp::web {

class BrowserPeer {
 public:
  struct Out {
    std::function<void(std::span<const uint8_t>)> binary;  // copied before it returns
    std::function<void(std::string_view)> text;
    std::function<void(std::string)> close;
  };

  BrowserPeer(std::shared_ptr<WebBridge::Impl> bridge, JoinRequest join, Out out);
  ~BrowserPeer();
  BrowserPeer(const BrowserPeer&) = delete;
  BrowserPeer& operator=(const BrowserPeer&) = delete;

  // A binary message: one 20 ms frame of 16-bit little-endian PCM (kFrameBytes), or the page is
  // closed with a reason.
  void on_binary(std::span<const uint8_t> d);
  // A text message: a control message (control_message.h), or the page is closed with a reason.
  void on_text(std::string_view text);

 private:
  using Clock = std::chrono::steady_clock;
  struct Frame {
    std::array<int16_t, kFrameSamples> pcm;
    Clock::time_point arrived;
  };

  bool admit();
  void start_call();
  void on_event(const client::SignalEvent& e);
  void tick();
  void send(const nlohmann::json& j);
  void send_speaking();
  void log(const nlohmann::json& j) const;
  void close(const std::string& reason);  // logged, then the page is closed with it

  std::shared_ptr<WebBridge::Impl> bridge_;
  std::string room_;
  std::vector<std::string> expect_;             // the page's expect=: our key goes to these alone
  std::optional<std::vector<uint8_t>> secret_;  // the page's secret=: an invite-only room
  std::string name_;                            // the page's name=, or empty
  uint64_t serial_ = 0;                         // this page's number in the bridge's log
  Clock::time_point joined_ = Clock::now();
  uint64_t sink_frames_ = 0;
  std::array<uint8_t, kFrameBytes> pcm_out_{};  // the frame the page is sent next
  std::vector<uint32_t> speaking_;              // the sessions last reported speaking
  // The safety number of each member listed (ours with theirs), for the page's list.
  std::map<std::string, std::string> safety_;
  Out out_;
  crypto::Identity identity_;
  std::string relay_;
  client::QuicSignalConnector connector_;
  std::unique_ptr<client::SignalSession> session_;
  std::unique_ptr<client::RoomCall> call_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  NewestRing<Frame, 10> frames_;  // never more than 200 ms behind the browser
  boost::asio::steady_timer timer_;
  Clock::time_point window_start_{};
  double window_count_ = 0;
};

}  // namespace wzp::web
