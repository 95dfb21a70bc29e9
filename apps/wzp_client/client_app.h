// wzp-client once its options are checked: the room call or the registration (with its direct
// calls), the commands on stdin, the status line every second, and the summary at the end.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "client/call_metrics.h"
#include "client/direct_call.h"
#include "client/quic_signal.h"
#include "client/room_call.h"
#include "client/signal_session.h"
#include "crypto/identity.h"
#include "transport/asio_scheduler.h"
#include "transport/endpoint.h"
#include "transport/tls_identity.h"
#include "wzp_client/call_audio.h"
#include "wzp_client/options.h"

namespace wzp::apps {

class ClientApp {
 public:
  // `o` is checked (something to do; `o.duration` is final); `relay` is `o.relay` parsed.
  ClientApp(const ClientOptions& o, transport::Address relay, const crypto::Identity& identity,
            CallAudio& audio, std::ostream* metrics);
  // Runs until the duration is over, Ctrl-C, `quit`, or a failure; the exit status.
  int run();

 private:
  client::RoomCallOptions call_options();
  // An event line replaces the in-place status line (cleared first) instead of being glued on.
  void say(const std::string& line);
  // The relay's certificate against its pin (trust on first use); a mismatch ends the run.
  bool pin(const std::string& which, const std::string& fp);
  void on_member(const client::MemberEvent& e);
  void start_call(const std::string& private_room, const std::string& peer);
  void end_call(const std::string& why);
  void on_call_event(const client::DirectCallEvent& e);
  void on_signal_event(const client::SignalEvent& e);
  void place_call(const std::string& to);
  // Commands on stdin (--register): relay HOST:PORT, call FP, answer, decline, hangup, quit.
  void watch_stdin();
  void read_command();
  void on_command(const std::string& line);
  // Every 100 ms; false when the run is over (exit_code_ says how).
  bool check(int tick, double elapsed);
  void every_second(double elapsed, const client::RoomCallStatus& st);
  int summary(int exit_code);

  const ClientOptions& o_;
  const crypto::Identity& identity_;
  CallAudio& audio_;
  std::ostream* metrics_;
  bool tty_;
  boost::asio::io_context io_;
  transport::KnownRelays known_;
  std::string pin_error_;
  std::string current_relay_;         // --register: `relay HOST:PORT` on stdin moves it
  transport::Address relay_address_;  // current_relay_, parsed
  client::RoomCallOptions opt_;
  std::unique_ptr<client::RoomCall> call_;
  std::string call_room_;    // for the "joined room" line
  std::string call_access_;  // what that line says about who else may come in
  // --register: a SignalSession keeps us registered; direct calls become a RoomCall in the
  // private room the relay names.
  transport::AsioScheduler scheduler_{io_};
  client::QuicSignalConnector connector_;
  std::unique_ptr<client::SignalSession> session_;
  std::vector<std::unique_ptr<client::RoomCall>> ended_;  // kept until exit: goodbyes in flight
  bool registered_once_ = false;
  std::optional<client::DirectCallFlow> calls_;
  boost::asio::posix::stream_descriptor in_{io_};
  boost::asio::streambuf in_buf_;
  bool stopping_ = false;
  int exit_code_ = 0;
  bool ever_connected_ = false, was_connected_ = false, told_still_trying_ = false;
  uint32_t reconnects_said_ = 0;
  client::CallMetricsLines metrics_lines_;
  std::vector<client::EchoWindow> echo_windows_;
  uint32_t delay_min_ = UINT32_MAX, delay_max_ = 0;  // --drift-test: the buffer's delay
  double delay_sum_ = 0;
  uint64_t delay_n_ = 0;
};

}  // namespace wzp::apps
