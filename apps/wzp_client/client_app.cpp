#include "wzp_client/client_app.h"

#include <sodium.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "client/echo_probe.h"
#include "client/printable.h"
#include "client/status_line.h"
#include "codec/audio_analysis.h"
#include "proto/hex.h"
#include "proto/room_name.h"
#include "proto/room_secret.h"

namespace wzp::apps {

namespace {

// The terminal's width in columns (80 when it cannot be asked).
size_t terminal_width() {
  winsize w{};
  return ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0 ? w.ws_col : 80;
}

std::string member_line(const client::MemberEvent& e) {
  using K = client::MemberEvent::Kind;
  const std::string who = (e.who.display_name.empty() ? std::string("(no name)")
                                                      : client::printable(e.who.display_name)) +
                          " " + e.who.fingerprint;
  switch (e.kind) {
    case K::kJoined:
      return "joined: " + who + (e.own_identity ? " (another session of our own identity)" : "") +
             (e.expected ? "" : " (not expected: our key withheld)") +
             "\nwzp-client:   safety number " + e.safety_number;
    case K::kLeft:
      return "left: " + who;
    case K::kIdentityChanged:
      return "WARNING: " + client::printable(e.who.display_name) +
             " came back with another identity (" + e.who.fingerprint +
             "): check the safety number";
  }
  return {};
}

}  // namespace

ClientApp::ClientApp(const ClientOptions& o, transport::Address relay,
                     const crypto::Identity& identity, CallAudio& audio, std::ostream* metrics)
    : o_(o),
      identity_(identity),
      audio_(audio),
      metrics_(metrics),
      tty_(isatty(STDOUT_FILENO) != 0),
      known_(o.pins),
      current_relay_(o.relay),
      relay_address_(std::move(relay)),
      connector_(io_, {o.token, [this](const std::string& which, const std::string& fp) {
                         return pin(which, fp);
                       }}) {
  opt_ = call_options();
  call_room_ = opt_.room;
  call_access_ = opt_.secret ? " (invite-only: the relay admits only holders of its secret)"
                             : " (open: anyone who knows its name can join)";
}

client::RoomCallOptions ClientApp::call_options() {
  client::RoomCallOptions opt;
  opt.room = o_.echo_secs > 0 ? std::string(proto::kEchoRoom) : o_.room;
  if (!o_.secret.empty()) opt.secret = proto::parse_room_secret(o_.secret);
  opt.display_name = o_.name;
  opt.token = o_.token;
  opt.clock_skew_ppm = o_.skew_ppm;
  opt.encoder.adaptive = o_.profile == "auto";
  opt.encoder.tier = o_.profile == "auto" ? proto::Tier::kGood : *proto::tier_from_name(o_.profile);
  // A steady tone, the probe file or the echo test would look like background noise to the
  // VAD, so they are sent as they are; a microphone, and a client with nothing to send (a
  // recorder), send speech only and comfort noise in the pauses: a listener's uplink stays
  // near empty.
  // --constant-rate: no pauses on the wire either, so that an observer (or the relay) cannot
  // read who speaks when from packet rates and sizes (docs/SECURITY.md).
  opt.encoder.silence_suppression =
      audio_.nothing_to_send() && o_.echo_secs <= 0 && !o_.constant_rate;
  opt.verify_relay = [this](const std::string& fp) { return pin(current_relay_, fp); };
  opt.expect = o_.expect;
  for (const auto& f : o_.fallbacks) opt.fallbacks.push_back(*transport::parse_address(f).address);
  opt.verify_relay_at = [this](const transport::Address& a, const std::string& fp) {
    return pin(a.text(), fp);
  };
  opt.on_move = [this](const transport::Address& a) {
    current_relay_ = a.text();
    say("relay " + a.text() + ": our relay stopped answering, moving the call there");
  };
  // The relay alone says who is here: every join and leave is shown, with the fingerprint and
  // the safety number to compare out of band.
  opt.on_member = [this](const client::MemberEvent& e) { say(member_line(e)); };
  return opt;
}

void ClientApp::say(const std::string& line) {
  std::cout << (tty_ ? "\r\033[K" : "") << "wzp-client: " << line << std::endl;
}

bool ClientApp::pin(const std::string& which, const std::string& fp) {
  std::string pinned;
  const auto verdict = known_.check(which, fp, &pinned);
  if (verdict == transport::KnownRelays::Verdict::kInvalid) {
    pin_error_ = "cannot pin relay '" + which + "': not a single printable token";
    return false;
  }
  if (!transport::KnownRelays::trusted(verdict)) {
    pin_error_ = "the certificate of " + which + " changed (pinned " + pinned.substr(0, 16) +
                 "..., now " + fp.substr(0, 16) +
                 "...); if that is expected, remove its line from " + o_.pins;
    return false;
  }
  return true;
}

void ClientApp::start_call(const std::string& private_room, const std::string& peer) {
  auto o = opt_;
  o.room = call_room_ = private_room;
  o.secret.reset();  // the relay names the private room and admits the two only
  call_access_ = " (private: the relay admits the two parties only)";
  o.expect = {peer};  // exactly the peer we called or answered
  call_ = std::make_unique<client::RoomCall>(
      io_, relay_address_, identity_, o, [this](std::span<int16_t> p) { return audio_.source(p); },
      [this](std::span<const int16_t> p) { audio_.sink(p); });
  say("call connected in room " + private_room);
}

void ClientApp::end_call(const std::string& why) {
  if (!call_) return;
  call_->hang_up();
  say("call ended: " + why);
  ended_.push_back(std::move(call_));
}

void ClientApp::on_call_event(const client::DirectCallEvent& e) {
  using K = client::DirectCallEvent::Kind;
  switch (e.kind) {
    case K::kCalling:
      return say("calling " + e.peer);
    case K::kIncoming:
      return say("incoming call from " + e.peer +
                 (e.display_name.empty() ? std::string() : " (" + e.display_name + ")") +
                 (o_.auto_answer ? "; answering" : "; type 'answer' or 'decline'"));
    case K::kRinging:
      return say("ringing");
    case K::kDeclined:
      return say("call declined" + (e.reason.empty() ? std::string() : ": " + e.reason));
    case K::kOtherEnded:
      return say("call " + e.call_id + " ended: " + e.reason);
    case K::kConnected:
    case K::kEnded:
      return;  // said by start_call and end_call
  }
}

void ClientApp::place_call(const std::string& to) {
  calls_->place(to, o_.name.empty() ? std::nullopt : std::optional(o_.name));
}

void ClientApp::on_signal_event(const client::SignalEvent& e) {
  using K = client::SignalEvent::Kind;
  // A relay whose certificate changed is not a connection to retry: the pin's message is said
  // at once (the main loop), not a TLS error and a round of reconnects first.
  if (!pin_error_.empty() && (e.kind == K::kError || e.kind == K::kReconnecting)) return;
  switch (e.kind) {
    case K::kRegistered:
      say("registered with " + e.relay + " as " + e.fingerprint);
      // On a fallback relay (ours was lost): the calls placed or answered from now on start
      // there too. A call in progress keeps its own way (it moves on its own).
      if (const auto at = transport::parse_address(e.relay); at.address && !call_) {
        current_relay_ = e.relay;
        relay_address_ = *at.address;
      }
      if (!registered_once_ && !o_.call_fp.empty()) place_call(o_.call_fp);
      registered_once_ = true;
      break;
    case K::kReconnecting:
      say("reconnecting to " + e.relay + " (attempt " + std::to_string(e.attempt) + ", in " +
          std::to_string(e.next_delay_ms / 1000.0).substr(0, 4) + " s)");
      break;
    case K::kDeregistered:
      say("deregistered");
      break;
    case K::kError:
      say("error: " + e.reason);
      break;
  }
}

void ClientApp::watch_stdin() {
  // Only a pipe, terminal or socket can be watched by the event loop (not a regular file).
  struct stat st {};
  if (fstat(STDIN_FILENO, &st) != 0 ||
      !(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode)))
    return;
  boost::system::error_code ec;
  in_.assign(::dup(STDIN_FILENO), ec);
  if (in_.is_open()) read_command();
}

void ClientApp::read_command() {
  boost::asio::async_read_until(in_, in_buf_, '\n',
                                [this](const boost::system::error_code& ec, size_t) {
                                  if (ec) return;
                                  std::istream is(&in_buf_);
                                  std::string line;
                                  std::getline(is, line);
                                  on_command(line);
                                  read_command();
                                });
}

void ClientApp::on_command(const std::string& line) {
  std::istringstream words(line);
  std::string verb, arg;
  words >> verb >> arg;
  if (verb == "relay" && !arg.empty()) {
    const auto to = transport::parse_address(arg);
    if (!to.address) return say("relay " + to.error);
    current_relay_ = arg;
    relay_address_ = *to.address;
    session_->register_relay(arg);
    if (call_) call_->move_to(*to.address);
    say("moving to " + arg);
  } else if (verb == "call" && !arg.empty()) {
    place_call(arg);
  } else if (verb == "answer" || verb == "decline") {
    calls_->answer(verb == "answer");
  } else if (verb == "hangup" && calls_->in_call()) {
    calls_->hang_up("hung up");
  } else if (verb == "quit") {
    stopping_ = true;
  } else if (!verb.empty()) {
    say("unknown command '" + verb + "'");
  }
}

int ClientApp::run() {
  const bool do_register = o_.do_register || !o_.call_fp.empty() || o_.auto_answer;
  if (!do_register) {
    call_ = std::make_unique<client::RoomCall>(
        io_, relay_address_, identity_, opt_,
        [this](std::span<int16_t> p) { return audio_.source(p); },
        [this](std::span<const int16_t> p) { audio_.sink(p); });
  }
  // The direct-call flow (client/direct_call.h): calls become a RoomCall in the private room
  // the relay names, expecting the one peer.
  calls_.emplace(
      client::DirectCallFlow::Hooks{
          .send = [this](const proto::SignalMessage& m) { return session_ && session_->send(m); },
          .start_call = [this](const std::string& room,
                               const std::string& peer) { start_call(room, peer); },
          .end_call = [this](const std::string& why) { end_call(why); },
          .on_event = [this](const client::DirectCallEvent& e) { on_call_event(e); },
          .new_call_id =
              [] {
                uint8_t r[8];
                randombytes_buf(r, sizeof r);
                return proto::to_hex(r);
              }},
      o_.auto_answer);
  if (do_register) {
    session_ = std::make_unique<client::SignalSession>(
        identity_, connector_, scheduler_,
        [this](const client::SignalEvent& e) { on_signal_event(e); },
        [this](const proto::SignalMessage& m) { calls_->on_message(m); });
    session_->set_fallbacks(o_.fallbacks);
    session_->register_relay(o_.relay);
    watch_stdin();
  }
  boost::asio::signal_set signals(io_, SIGINT, SIGTERM);
  signals.async_wait([this](auto ec, int) {
    if (!ec) stopping_ = true;
  });
  const auto start = std::chrono::steady_clock::now();
  for (int tick = 0;; ++tick) {
    io_.run_for(std::chrono::milliseconds(100));
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!check(tick, elapsed)) break;
  }
  return summary(exit_code_);
}

bool ClientApp::check(int tick, double elapsed) {
  const auto st = call_ ? call_->status() : client::RoomCallStatus{};
  ever_connected_ = ever_connected_ || st.connected || (session_ && session_->registered());
  if (st.failed || !pin_error_.empty()) {
    std::cerr << "wzp-client: " << (pin_error_.empty() ? st.closed_reason : pin_error_) << "\n";
    exit_code_ = 1;
    return false;
  }
  // A first connection is given 30 s: through heavy loss a QUIC handshake can take its time
  // (at 60 % loss each way the joins measured took 0.3 to 7 s, now and then longer), and a
  // person on such a path would rather wait than redial. A name that does not resolve is said
  // after 10 s, and a silent relay is named as still being tried at 10 s.
  constexpr int kTrySeconds = 30, kUnresolvedSeconds = 10;
  const double give_up = st.unresolved ? kUnresolvedSeconds : kTrySeconds;
  if (!ever_connected_ && !session_ && (elapsed > give_up || elapsed >= o_.duration)) {
    // The first attempt's reason when there was one (a host name that does not resolve).
    std::cerr << "wzp-client: cannot reach relay " << o_.relay << " ("
              << (st.closed_reason.empty() ? "no answer" : st.closed_reason) << " after "
              << static_cast<int>(elapsed) << " s)\n";
    exit_code_ = 1;
    return false;
  }
  if (!ever_connected_ && !session_ && !told_still_trying_ && elapsed > kUnresolvedSeconds) {
    told_still_trying_ = true;
    std::cerr << "wzp-client: no answer from relay " << o_.relay << " yet; still trying (up to "
              << kTrySeconds << " s)\n";
  }
  // (A rejoin can happen between two looks at the status: the count says so.)
  if (call_ && st.connected && (!was_connected_ || st.reconnects != reconnects_said_)) {
    reconnects_said_ = st.reconnects;
    // Said once per join, so a reader (or a script) knows the call is up and as whom.
    say(st.reconnects > 0 ? "back in the call (reconnect " + std::to_string(st.reconnects) + ")"
                          : "joined room " + client::printable(call_room_) + " as " +
                                identity_.fingerprint() + ", " + std::to_string(st.members) +
                                (st.members == 1 ? " other" : " others") + " here" + call_access_);
  }
  was_connected_ = call_ && st.connected;
  if (tick % 10 == 9) every_second(elapsed, st);
  return !stopping_ && elapsed < o_.duration;
}

void ClientApp::every_second(double elapsed, const client::RoomCallStatus& st) {
  if (st.connected && st.members > 0) {
    delay_min_ = std::min(delay_min_, st.buffer_delay_ms);
    delay_max_ = std::max(delay_max_, st.buffer_delay_ms);
    delay_sum_ += st.buffer_delay_ms;
    ++delay_n_;
  }
  if (o_.echo_secs > 0) {
    for (auto w : audio_.echo().take_finished()) {
      w.loss_percent = st.loss_percent;
      echo_windows_.push_back(w);
      if (w.heard) {
        std::printf(
            "echo window %2d: %3.0f Hz -> %6.1f Hz, delay %4.0f ms, SNR %5.1f dB, "
            "loss %4.1f %%\n",
            w.index, w.freq_sent, w.freq_heard, w.delay_ms, w.snr_db, w.loss_percent);
      } else {
        std::printf("echo window %2d: %3.0f Hz -> nothing came back\n", w.index, w.freq_sent);
      }
      std::fflush(stdout);
    }
  }
  if (metrics_) *metrics_ << metrics_lines_.second(elapsed, st) << std::endl;
  client::StatusView v;
  v.elapsed_s = elapsed;
  v.state = !call_            ? (session_->registered() ? "registered" : "registering")
            : st.connected    ? "connected"
            : st.reconnecting ? "reconnecting"
                              : "connecting";
  v.others = st.members;
  if (call_ && st.connected) v.codec = proto::codec_info(st.codec).name;
  v.loss_percent = st.loss_percent;
  v.rtt_ms = st.rtt_ms;
  v.delay_ms = st.buffer_delay_ms;
  v.decoded = st.received.slots_decoded;
  v.concealed = st.received.slots_concealed;
  v.reconnects = st.reconnects;
  v.sending = audio_.sending();
  v.level = audio_.level();
  if (tty_) {
    // In place, cut to the terminal's width: a wrapped line would break the update.
    std::cout << "\r\033[K" << client::status_line(v, terminal_width()) << std::flush;
  } else {
    // A pipe is block-buffered: whoever reads wants it now.
    std::cout << client::status_line(v) << std::endl;
  }
}

int ClientApp::summary(int exit_code) {
  if (tty_) std::cout << "\n";
  const auto final_status = call_ ? call_->status() : client::RoomCallStatus{};
  if (session_ && calls_->in_call()) session_->send(proto::Hangup{calls_->call_id(), "bye"});
  if (call_) call_->hang_up();
  if (session_) session_->deregister();
  io_.run_for(std::chrono::milliseconds(200));
  if (exit_code == 0 && o_.echo_secs > 0) {
    for (auto w : audio_.echo().take_finished()) echo_windows_.push_back(w);
    const std::string verdict = client::EchoProbe::verdict(echo_windows_);
    std::printf("echo test verdict: %s\n", verdict.c_str());
    if (verdict.rfind("FAIL", 0) == 0) exit_code = 1;
  }
  if (exit_code == 0 && o_.drift_secs > 0) {
    const auto& j = final_status;
    if (!j.drift_ppm || delay_n_ == 0) {
      std::printf("drift test: not enough media received to measure (was anyone sending?)\n");
      exit_code = 1;
    } else {
      const auto& r = j.received;
      const double filled =
          100.0 * r.slots_decoded / std::max<uint64_t>(1, r.slots_decoded + r.slots_concealed);
      std::printf(
          "drift test: the sender's clock runs %+.0f ppm against ours (%.1f ms per minute)\n"
          "drift test: jitter buffer delay %u..%u ms (mean %.0f), %lu frames dropped and %lu "
          "stretched to follow it; playout filled %.1f %%\n",
          *j.drift_ppm, *j.drift_ppm * 60e-3, delay_min_, delay_max_, delay_sum_ / delay_n_,
          j.accelerated, j.decelerated, filled);
      std::printf("drift test verdict: %s\n", filled > 98 && delay_max_ < 1000
                                                  ? "ABSORBED: the buffer followed the drift"
                                                  : "NOT ABSORBED: gaps or growing delay");
    }
  }
  if (exit_code == 0 && !o_.record.empty()) {
    const auto& r = final_status.received;
    const double filled = r.slots_decoded + r.slots_concealed
                              ? 100.0 * r.slots_decoded / (r.slots_decoded + r.slots_concealed)
                              : 0.0;
    std::cout << "wzp-client: recorded " << static_cast<int>(audio_.recorded_s()) << " s to "
              << o_.record;
    if (audio_.loudest_rms() > 100) {
      std::printf("; loudest second: %.1f Hz, RMS %.0f",
                  codec::dominant_frequency(audio_.loudest()), audio_.loudest_rms());
    }
    std::printf("; playout filled with decoded audio %.1f %%, %lu frames recovered by FEC\n",
                filled, r.frames_recovered);
    if (!audio_.heard()) {
      // A silent file is not a result: say so, and let scripts see it.
      std::cout << "wzp-client: heard nothing: the recording is silence (" << final_status.members
                << (final_status.members == 1 ? " other" : " others") << " in the room at the end)"
                << std::endl;
      exit_code = 1;
    }
  }
  return exit_code;
}

}  // namespace wzp::apps
