// wzp-client: calls through a relay from the command line — send a tone or a file, record
// what the room says — and identity management.
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include <sodium.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <numbers>
#include <sstream>

#include "cli.h"
#include "client/call_metrics.h"
#include "client/direct_call.h"
#include "client/echo_probe.h"
#include "client/jitter_sweep.h"
#include "client/live_audio.h"
#include "client/printable.h"
#include "client/quic_signal.h"
#include "client/room_call.h"
#include "client/signal_session.h"
#include "client/status_line.h"
#include "client/wav.h"
#include "codec/audio_analysis.h"
#include "codec/resample.h"
#include "codec/vad.h"
#include "crypto/handshake.h"
#include "crypto/identity.h"
#include "proto/hex.h"
#include "proto/room_name.h"
#include "proto/room_secret.h"
#include "transport/asio_scheduler.h"
#include "transport/endpoint.h"
#include "transport/quic.h"
#include "transport/tls_identity.h"

namespace {

// The terminal's width in columns (80 when it cannot be asked).
size_t terminal_width() {
  winsize w{};
  return ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0 ? w.ws_col : 80;
}

std::string home_path(const char* leaf) {
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.wzp/" + leaf;
}

int identity_commands(const std::string& path, bool show, bool mnemonic, bool restore) {
  try {
    if (restore) {
      if (std::filesystem::exists(path)) {
        std::cerr << "wzp-client: " << path << " already exists; move it away before restoring\n";
        return 2;
      }
      if (isatty(STDIN_FILENO)) std::cerr << "Enter the 24 recovery words, then Ctrl-D:\n";
      const std::string words((std::istreambuf_iterator<char>(std::cin)), {});
      const auto id = wzp::crypto::Identity::from_mnemonic(words);
      const auto parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent);
      wzp::crypto::save_identity(id, path);
      std::cout << "restored " << id.fingerprint() << " into " << path << "\n";
      return 0;
    }
    if (show) {
      const auto parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent);
      bool created = false;
      const auto id = wzp::crypto::load_or_create_identity(path, &created);
      if (created) std::cerr << "wzp-client: created a new identity in " << path << "\n";
      std::cout << "fingerprint: " << id.fingerprint() << "\n";
      if (mnemonic) std::cout << "mnemonic: " << id.mnemonic() << "\n";
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "wzp-client: " << e.what() << "\n";
    return 2;
  }
  return -1;  // not an identity command
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wzp-client: WarzonePhone call client"};
  std::string relay, room = "lobby", name, identity_path = home_path("identity");
  std::string pins = home_path("known_relays"), send_file, record, profile = "auto";
  std::string token, call_fp, metrics_file, sweep_out = "sweep.svg";
  bool do_register = false, auto_answer = false, live = false, sweep = false;
  double echo_secs = 0, drift_secs = 0, skew_ppm = 0;
  wzp::client::SweepOptions sweep_opt;
  double tone_secs = 0, tone_hz = 440, duration = 0;
  bool show_identity = false, show_mnemonic = false, restore = false;
  app.add_option("relay", relay, "relay address HOST:PORT");
  app.add_option("--room", room, "room to join")->capture_default_str();
  app.add_option("--name", name, "display name shown to the room");
  std::string secret;
  bool new_secret = false;
  app.add_option(
         "--secret", secret,
         "the invite-only room of --room's name and this secret (32 hex digits): the relay "
         "admits only those who hold it; without it a room is open to anyone who knows its name")
      ->check(CLI::Validator(
          std::function<std::string(std::string&)>([](std::string& s) {
            return wzp::proto::parse_room_secret(s)
                       ? std::string()
                       : "a room secret is 32 hex digits (wzp-client --new-secret makes one)";
          }),
          "HEX"));
  app.add_flag("--new-secret", new_secret, "print a fresh room secret for --secret and exit");
  bool constant_rate = false;
  app.add_flag("--constant-rate", constant_rate,
               "send at the same rate and size in pauses as in speech (no silence suppression): "
               "who speaks when does not show on the wire, at about twice the bytes of a "
               "conversation");
  std::vector<std::string> expect;
  app.add_option("--expect", expect,
                 "hand our key only to this fingerprint (repeatable): anyone else the relay lists "
                 "in the room hears nothing of us")
      ->check(CLI::Validator(std::function<std::string(std::string&)>([](std::string& fp) {
                               return wzp::crypto::is_fingerprint(fp)
                                          ? std::string()
                                          : "'" + fp + "' is not a fingerprint (like " +
                                                "0a1b:2c3d:4e5f:6a7b:8c9d:0e1f:2a3b:4c5d, " +
                                                "from wzp-client --show-identity)";
                             }),
                             "FINGERPRINT"));
  app.add_option("--identity", identity_path,
                 "identity file, created on first use (default: ~/.wzp/identity)");
  app.add_option("--known-relays", pins,
                 "relay certificate pins, trust on first use (default: ~/.wzp/known_relays)");
  app.add_flag("--show-identity", show_identity, "print the fingerprint and exit");
  app.add_flag("--show-mnemonic", show_mnemonic, "with --show-identity: also the recovery words");
  app.add_flag("--restore-identity", restore, "read 24 recovery words on stdin into --identity");
  app.add_option("--send-tone", tone_secs,
                 "send a tone (440 Hz unless --tone-freq) for SECS seconds")
      ->check(wzp::apps::positive_seconds());
  app.add_option("--tone-freq", tone_hz, "the tone's frequency, Hz")
      ->check(CLI::Range(20.0, 20000.0))
      ->capture_default_str();
  app.add_flag("--register", do_register,
               "stay registered for direct calls (reconnects on its own); commands on stdin: "
               "relay HOST:PORT, call FINGERPRINT, answer, decline, hangup, quit");
  app.add_option("--call", call_fp, "call this fingerprint once registered (implies --register)");
  app.add_flag("--auto-answer", auto_answer, "accept incoming direct calls (implies --register)");
  app.add_option("--token", token, "auth token for relays started with --auth-url");
  app.add_option("--send-file", send_file,
                 "send a WAV file (any rate and channels) or raw 48 kHz s16le");
  app.add_option("--record", record,
                 "record what the room says (FILE.wav, or FILE.raw for 48 kHz s16le)")
      ->check(CLI::Validator(
          [](const std::string& f) {
            return f.ends_with(".wav") || f.ends_with(".raw")
                       ? std::string()
                       : "must end in .wav or .raw (48 kHz s16le), not '" + f + "'";
          },
          "FILE.wav|FILE.raw"));
  app.add_option("--duration", duration,
                 "stay in the call this many seconds (default: the send length + 2; a recorder or "
                 "--live runs until Ctrl-C)")
      ->check(wzp::apps::positive_seconds());
  app.add_option("--profile", profile, "quality: auto or a pinned tier")
      ->check(CLI::IsMember({"auto", "good", "degraded", "catastrophic"}))
      ->capture_default_str();
  app.add_flag("--live", live, "talk and listen: microphone and speaker through PortAudio");
  app.add_option("--echo-test", echo_secs,
                 "SECS through the relay's echo room: loss, delay, SNR and pitch per second, "
                 "then a verdict")
      ->check(wzp::apps::positive_seconds());
  app.add_option("--drift-test", drift_secs,
                 "SECS in the room: the sender's clock drift against ours and how the jitter "
                 "buffer absorbed it")
      ->check(wzp::apps::positive_seconds());
  app.add_option("--clock-skew-ppm", skew_ppm,
                 "run our 20 ms clock this many ppm fast (drift tests)");
  app.add_flag("--sweep", sweep,
               "delay against concealment over a range of jitter-buffer settings on a simulated "
               "link (no relay needed); writes a chart");
  app.add_option("--sweep-out", sweep_out, "--sweep: the chart (SVG)")->capture_default_str();
  app.add_option("--sweep-jitter", sweep_opt.jitter_ms, "--sweep: link jitter, ms")
      ->capture_default_str();
  app.add_option("--sweep-loss", sweep_opt.loss, "--sweep: link loss, 0..1")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  app.add_option("--metrics-file", metrics_file,
                 "append one JSON line per second: loss, RTT, jitter, tier, buffer delay, "
                 "concealment, bitrate");
  if (const auto rc = wzp::apps::parse_command_line(app, "wzp-client", argc, argv)) return *rc;

  if (sweep) {
    std::printf("%-16s %10s %12s %6s\n", "jitter buffer", "delay ms", "concealed %", "late");
    const auto points =
        wzp::client::run_jitter_sweep(sweep_opt, [](const wzp::client::SweepPoint& p) {
          std::printf("%-16s %10.1f %12.2f %6lu\n", p.label.c_str(), p.delay_ms, p.concealed,
                      p.late);
          std::fflush(stdout);
        });
    std::ofstream svg(sweep_out);
    svg << wzp::client::sweep_svg(points, sweep_opt);
    if (!svg) {
      std::cerr << "wzp-client: cannot write " << sweep_out << ": " << std::strerror(errno) << "\n";
      return 1;
    }
    std::printf("chart: %s\n", sweep_out.c_str());
    return 0;
  }

  if (int rc = identity_commands(identity_path, show_identity, show_mnemonic, restore); rc >= 0) {
    return rc;
  }
  if (new_secret) {
    std::cout << wzp::proto::to_hex(wzp::crypto::random_nonce(wzp::proto::kRoomSecretBytes))
              << "\n";
    return 0;
  }
  if (relay.empty()) {
    std::cerr << "wzp-client: a relay address is required (see --help)\n";
    return 2;
  }
  const bool acts = tone_secs > 0 || !send_file.empty() || !record.empty() || live ||
                    echo_secs > 0 || drift_secs > 0 || !call_fp.empty() || auto_answer ||
                    do_register || duration > 0;
  if (!acts) {
    // A bare `wzp-client HOST:PORT` would sit in the lobby, silent and deaf: say what it can do.
    std::cerr
        << "wzp-client: what should the call do? Pick one or more:\n"
           "  --send-tone SECS | --send-file FILE   send a tone or a recording\n"
           "  --record FILE.wav                     record what the room says (until Ctrl-C)\n"
           "  --live                                talk and listen (microphone and speaker)\n"
           "  --echo-test SECS                      measure the path through the relay\n"
           "  --register | --call FP | --auto-answer   direct calls\n"
           "  --duration SECS                       just be in the room (--room NAME)\n"
           "(--help lists every option)\n";
    return 2;
  }
  // A host name is looked up when the call dials (and again at every redial).
  const auto ep = wzp::transport::parse_address(relay);
  if (!ep.address) {
    std::cerr << "wzp-client: relay " << ep.error << "\n";
    return 2;
  }

  // What to send: a tone, a file, or silence.
  std::vector<int16_t> audio;
  try {
    if (!send_file.empty()) {
      if (send_file.ends_with(".raw")) {
        std::ifstream in(send_file, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + send_file + ": " + std::strerror(errno));
        for (int16_t s; in.read(reinterpret_cast<char*>(&s), 2);) audio.push_back(s);
      } else {
        auto wav = wzp::client::read_wav(send_file);
        audio = wzp::codec::resample(wav.mono, wav.rate, 48000);
      }
    } else if (tone_secs > 0) {
      audio.resize(static_cast<size_t>(tone_secs * 48000));
      for (size_t i = 0; i < audio.size(); ++i) {
        audio[i] =
            static_cast<int16_t>(8000 * std::sin(2 * std::numbers::pi * tone_hz * i / 48000.0));
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "wzp-client: " << e.what() << "\n";
    return 2;
  }
  do_register = do_register || !call_fp.empty() || auto_answer;
  if (echo_secs > 0) {
    room = wzp::proto::kEchoRoom;
    duration = echo_secs + 2;  // the last window's answer needs a second more
  }
  if (drift_secs > 0) duration = drift_secs;
  // A recorder, a live call or a registration runs until Ctrl-C; a sender until its audio is
  // sent (and 2 s for the tail to arrive).
  if (duration <= 0)
    duration = do_register || live || audio.empty() ? 1e9 : audio.size() / 48000.0 + 2;
  std::unique_ptr<wzp::client::LiveAudio> device;
  if (live) {
    std::string why;
    device = wzp::client::LiveAudio::open(&why);
    if (!device) {
      std::cerr << "wzp-client: --live: " << why << "\n";
      return 1;
    }
  }
  std::ofstream metrics_out;
  if (!metrics_file.empty()) {
    metrics_out.open(metrics_file, std::ios::app);
    if (!metrics_out) {
      std::cerr << "wzp-client: cannot write " << metrics_file << ": " << std::strerror(errno)
                << "\n";
      return 2;
    }
  }

  std::unique_ptr<wzp::crypto::Identity> identity;
  std::unique_ptr<wzp::client::WavWriter> wav;
  std::ofstream raw;
  try {
    const auto parent = std::filesystem::path(identity_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    bool created = false;
    identity = std::make_unique<wzp::crypto::Identity>(
        wzp::crypto::load_or_create_identity(identity_path, &created));
    if (created) {
      std::cout << "wzp-client: new identity " << identity->fingerprint() << " saved in "
                << identity_path << " (--show-identity --show-mnemonic prints its recovery words)"
                << std::endl;
    }
    if (!record.empty()) {
      if (record.ends_with(".raw")) {
        raw.open(record, std::ios::binary);
        if (!raw) throw std::runtime_error("cannot create " + record + ": " + std::strerror(errno));
      } else {
        wav = std::make_unique<wzp::client::WavWriter>(record);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "wzp-client: " << e.what() << "\n";
    return 2;
  }

  wzp::transport::KnownRelays known(pins);
  std::string pin_error;
  wzp::client::RoomCallOptions opt;
  opt.room = room;
  if (!secret.empty()) opt.secret = wzp::proto::parse_room_secret(secret);
  opt.display_name = name;
  opt.token = token;
  opt.clock_skew_ppm = skew_ppm;
  opt.encoder.adaptive = profile == "auto";
  opt.encoder.tier =
      profile == "auto" ? wzp::proto::Tier::kGood : *wzp::proto::tier_from_name(profile);
  // A steady tone, the probe file or the echo test would look like background noise to the
  // VAD, so they are sent as they are; a microphone, and a client with nothing to send (a
  // recorder), send speech only and comfort noise in the pauses: a listener's uplink stays
  // near empty.
  // --constant-rate: no pauses on the wire either, so that an observer (or the relay) cannot
  // read who speaks when from packet rates and sizes (docs/SECURITY.md).
  opt.encoder.silence_suppression = audio.empty() && echo_secs <= 0 && !constant_rate;
  std::string current_relay = relay;  // --register: `relay HOST:PORT` on stdin moves it
  const auto pin = [&](const std::string& which, const std::string& fp) {
    std::string pinned;
    const auto verdict = known.check(which, fp, &pinned);
    if (verdict == wzp::transport::KnownRelays::Verdict::kInvalid) {
      pin_error = "cannot pin relay '" + which + "': not a single printable token";
      return false;
    }
    if (!wzp::transport::KnownRelays::trusted(verdict)) {
      pin_error = "the certificate of " + which + " changed (pinned " + pinned.substr(0, 16) +
                  "..., now " + fp.substr(0, 16) +
                  "...); if that is expected, remove its line from " + pins;
      return false;
    }
    return true;
  };
  opt.verify_relay = [&](const std::string& fp) { return pin(current_relay, fp); };
  opt.expect = expect;
  // The relay alone says who is here: every join and leave is shown, with the fingerprint and
  // the safety number to compare out of band.
  // An event line replaces the in-place status line (cleared first) instead of being glued on.
  const auto say = [&](const std::string& line) {
    std::cout << (isatty(STDOUT_FILENO) ? "\r\033[K" : "") << "wzp-client: " << line << std::endl;
  };
  opt.on_member = [say](const wzp::client::MemberEvent& e) {
    using K = wzp::client::MemberEvent::Kind;
    const std::string who =
        (e.who.display_name.empty() ? std::string("(no name)")
                                    : wzp::client::printable(e.who.display_name)) +
        " " + e.who.fingerprint;
    std::string line;
    switch (e.kind) {
      case K::kJoined:
        line = "joined: " + who + (e.own_identity ? " (another session of our own identity)" : "") +
               (e.expected ? "" : " (not expected: our key withheld)") +
               "\nwzp-client:   safety number " + e.safety_number;
        break;
      case K::kLeft:
        line = "left: " + who;
        break;
      case K::kIdentityChanged:
        line = "WARNING: " + wzp::client::printable(e.who.display_name) +
               " came back with another identity (" + e.who.fingerprint +
               "): check the safety number";
        break;
    }
    say(line);
  };

  boost::asio::io_context io;
  size_t at = 0;
  double level = 0;
  wzp::client::EchoProbe probe;
  std::vector<wzp::client::EchoWindow> echo_windows;
  // With --metrics-file, when the first sample was captured and when the recording's first
  // sample played, on the machine's monotonic clock: a listener on the same machine measures
  // mouth-to-ear delay from the two files alone (wzp-bench network does).
  const auto mark = [&](const char* event, double ms_before_now) {
    if (!metrics_out) return;
    const double now = std::chrono::duration<double, std::milli>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count();
    metrics_out << wzp::client::CallMetricsLines::mark(event, now - ms_before_now) << std::endl;
  };
  auto source = [&](std::span<int16_t> pcm) {
    if (echo_secs > 0) {
      probe.fill(pcm);
      return true;
    }
    if (device) return device->capture(pcm);
    if (at == 0 && !audio.empty()) mark("send_start", 20);  // the frame was captured over 20 ms
    if (at >= audio.size()) return false;
    const size_t n = std::min(pcm.size(), audio.size() - at);
    std::copy_n(audio.begin() + at, n, pcm.begin());
    at += n;
    return true;
  };
  // For the summary: the loudest whole second of what was played.
  std::vector<int16_t> second, loudest;
  double loudest_rms = 0;
  double recorded_s = 0;
  bool heard = false;  // a sample that was not zero was played
  bool sink_started = false;
  auto sink = [&](std::span<const int16_t> pcm) {
    if (!sink_started && (wav || raw)) mark("record_start", 0);
    sink_started = true;
    if (echo_secs > 0) probe.heard(pcm);
    if (device) device->play(pcm);
    level = wzp::codec::rms(pcm);
    recorded_s += pcm.size() / 48000.0;
    second.insert(second.end(), pcm.begin(), pcm.end());
    if (second.size() >= 48000) {
      const double r = wzp::codec::rms(second);
      if (r > loudest_rms) loudest_rms = r, loudest = second;
      second.clear();
    }
    heard = heard || std::any_of(pcm.begin(), pcm.end(), [](int16_t x) { return x != 0; });
    if (wav) wav->write(pcm.data(), pcm.size());
    if (raw)
      raw.write(reinterpret_cast<const char*>(pcm.data()),
                static_cast<std::streamsize>(pcm.size() * 2));
  };
  std::unique_ptr<wzp::client::RoomCall> call;
  std::string call_room = opt.room;  // for the "joined room" line
  // What the "joined room" line says about who else may come in.
  std::string call_access = opt.secret
                                ? " (invite-only: the relay admits only holders of its secret)"
                                : " (open: anyone who knows its name can join)";
  if (!do_register) {
    call = std::make_unique<wzp::client::RoomCall>(io, *ep.address, *identity, opt, source, sink);
  }

  // --register: a SignalSession keeps us registered; direct calls become a RoomCall in the
  // private room the relay names.
  wzp::transport::AsioScheduler scheduler(io);
  wzp::client::QuicSignalConnector connector(io, {token, pin});
  std::unique_ptr<wzp::client::SignalSession> session;
  std::vector<std::unique_ptr<wzp::client::RoomCall>> ended;  // kept until exit: goodbyes in flight
  bool registered_once = false;
  // The direct-call flow (client/direct_call.h): calls become a RoomCall in the private room
  // the relay names, expecting the one peer.
  wzp::client::DirectCallFlow calls(
      {.send = [&](const wzp::proto::SignalMessage& m) { return session && session->send(m); },
       .start_call =
           [&](const std::string& private_room, const std::string& peer) {
             const auto at_ep = wzp::transport::parse_address(current_relay);
             auto o = opt;
             o.room = call_room = private_room;
             o.secret.reset();  // the relay names the private room and admits the two only
             call_access = " (private: the relay admits the two parties only)";
             o.expect = {peer};  // exactly the peer we called or answered
             call = std::make_unique<wzp::client::RoomCall>(io, *at_ep.address, *identity, o,
                                                            source, sink);
             say("call connected in room " + private_room);
           },
       .end_call =
           [&](const std::string& why) {
             if (!call) return;
             call->hang_up();
             say("call ended: " + why);
             ended.push_back(std::move(call));
           },
       .on_event =
           [&](const wzp::client::DirectCallEvent& e) {
             using K = wzp::client::DirectCallEvent::Kind;
             switch (e.kind) {
               case K::kCalling:
                 say("calling " + e.peer);
                 break;
               case K::kIncoming:
                 say("incoming call from " + e.peer +
                     (e.display_name.empty() ? std::string() : " (" + e.display_name + ")") +
                     (auto_answer ? "; answering" : "; type 'answer' or 'decline'"));
                 break;
               case K::kRinging:
                 say("ringing");
                 break;
               case K::kDeclined:
                 say("call declined" + (e.reason.empty() ? std::string() : ": " + e.reason));
                 break;
               case K::kOtherEnded:
                 say("call " + e.call_id + " ended: " + e.reason);
                 break;
               case K::kConnected:
               case K::kEnded:
                 break;  // said by start_call and end_call
             }
           },
       .new_call_id =
           [] {
             uint8_t r[8];
             randombytes_buf(r, sizeof r);
             return wzp::proto::to_hex(r);
           }},
      auto_answer);
  const auto place_call = [&](const std::string& to) {
    calls.place(to, name.empty() ? std::nullopt : std::optional(name));
  };
  if (do_register) {
    session = std::make_unique<wzp::client::SignalSession>(
        *identity, connector, scheduler,
        [&](const wzp::client::SignalEvent& e) {
          using K = wzp::client::SignalEvent::Kind;
          // A relay whose certificate changed is not a connection to retry: the pin's message
          // is said at once (the main loop), not a TLS error and a round of reconnects first.
          if (!pin_error.empty() && (e.kind == K::kError || e.kind == K::kReconnecting)) return;
          switch (e.kind) {
            case K::kRegistered:
              say("registered with " + e.relay + " as " + e.fingerprint);
              if (!registered_once && !call_fp.empty()) place_call(call_fp);
              registered_once = true;
              break;
            case K::kReconnecting:
              say("reconnecting to " + e.relay + " (attempt " + std::to_string(e.attempt) +
                  ", in " + std::to_string(e.next_delay_ms / 1000.0).substr(0, 4) + " s)");
              break;
            case K::kDeregistered:
              say("deregistered");
              break;
            case K::kError:
              say("error: " + e.reason);
              break;
          }
        },
        [&](const wzp::proto::SignalMessage& m) { calls.on_message(m); });
    session->register_relay(relay);
  }
  // Commands on stdin (--register): relay HOST:PORT, call FP, answer, decline, hangup, quit.
  bool stopping = false;
  // Only a pipe, terminal or socket can be watched by the event loop (not a regular file).
  boost::asio::posix::stream_descriptor in(io);
  struct stat in_stat {};
  const bool commands =
      do_register && fstat(STDIN_FILENO, &in_stat) == 0 &&
      (S_ISFIFO(in_stat.st_mode) || S_ISCHR(in_stat.st_mode) || S_ISSOCK(in_stat.st_mode));
  if (commands) {
    boost::system::error_code ec;
    in.assign(::dup(STDIN_FILENO), ec);
  }
  boost::asio::streambuf in_buf;
  std::function<void()> read_command = [&] {
    boost::asio::async_read_until(in, in_buf, '\n',
                                  [&](const boost::system::error_code& ec, size_t) {
                                    if (ec) return;
                                    std::istream is(&in_buf);
                                    std::string line, verb, arg;
                                    std::getline(is, line);
                                    std::istringstream words(line);
                                    words >> verb >> arg;
                                    if (verb == "relay" && !arg.empty()) {
                                      const auto to = wzp::transport::parse_address(arg);
                                      if (!to.address) {
                                        say("relay " + to.error);
                                      } else {
                                        current_relay = arg;
                                        session->register_relay(arg);
                                        if (call) call->move_to(*to.address);
                                        say("moving to " + arg);
                                      }
                                    } else if (verb == "call" && !arg.empty()) {
                                      place_call(arg);
                                    } else if (verb == "answer" || verb == "decline") {
                                      calls.answer(verb == "answer");
                                    } else if (verb == "hangup" && calls.in_call()) {
                                      calls.hang_up("hung up");
                                    } else if (verb == "quit") {
                                      stopping = true;
                                    } else if (!verb.empty()) {
                                      say("unknown command '" + verb + "'");
                                    }
                                    read_command();
                                  });
  };
  if (commands && in.is_open()) read_command();

  const bool tty = isatty(STDOUT_FILENO);
  const auto start = std::chrono::steady_clock::now();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto ec, int) {
    if (!ec) stopping = true;
  });
  int exit_code = 0;
  bool ever_connected = false, was_connected = false, told_still_trying = false;
  uint32_t reconnects_said = 0;
  wzp::client::CallMetricsLines metrics_lines;
  uint32_t delay_min = UINT32_MAX, delay_max = 0;
  double delay_sum = 0;
  uint64_t delay_n = 0;
  for (int tick = 0;; ++tick) {
    io.run_for(std::chrono::milliseconds(100));
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto st = call ? call->status() : wzp::client::RoomCallStatus{};
    ever_connected = ever_connected || st.connected || (session && session->registered());
    if (st.failed || !pin_error.empty()) {
      std::cerr << "wzp-client: " << (pin_error.empty() ? st.closed_reason : pin_error) << "\n";
      exit_code = 1;
      break;
    }
    // A first connection is given 30 s: through heavy loss a QUIC handshake can take its time
    // (at 60 % loss each way the joins measured took 0.3 to 7 s, now and then longer), and a
    // person on such a path would rather wait than redial. A name that does not resolve is said
    // after 10 s, and a silent relay is named as still being tried at 10 s.
    constexpr int kTrySeconds = 30, kUnresolvedSeconds = 10;
    const double give_up = st.unresolved ? kUnresolvedSeconds : kTrySeconds;
    if (!ever_connected && !session && (elapsed > give_up || elapsed >= duration)) {
      // The first attempt's reason when there was one (a host name that does not resolve).
      std::cerr << "wzp-client: cannot reach relay " << relay << " ("
                << (st.closed_reason.empty() ? "no answer" : st.closed_reason) << " after "
                << static_cast<int>(elapsed) << " s)\n";
      exit_code = 1;
      break;
    }
    if (!ever_connected && !session && !told_still_trying && elapsed > kUnresolvedSeconds) {
      told_still_trying = true;
      std::cerr << "wzp-client: no answer from relay " << relay << " yet; still trying (up to "
                << kTrySeconds << " s)\n";
    }
    // (A rejoin can happen between two looks at the status: the count says so.)
    if (call && st.connected && (!was_connected || st.reconnects != reconnects_said)) {
      reconnects_said = st.reconnects;
      // Said once per join, so a reader (or a script) knows the call is up and as whom.
      say(st.reconnects > 0 ? "back in the call (reconnect " + std::to_string(st.reconnects) + ")"
                            : "joined room " + wzp::client::printable(call_room) + " as " +
                                  identity->fingerprint() + ", " + std::to_string(st.members) +
                                  (st.members == 1 ? " other" : " others") + " here" + call_access);
    }
    was_connected = call && st.connected;
    if (tick % 10 == 9 && st.connected && st.members > 0) {
      delay_min = std::min(delay_min, st.buffer_delay_ms);
      delay_max = std::max(delay_max, st.buffer_delay_ms);
      delay_sum += st.buffer_delay_ms;
      ++delay_n;
    }
    if (tick % 10 == 9 && echo_secs > 0) {
      for (auto w : probe.take_finished()) {
        w.loss_percent = st.loss_percent;
        echo_windows.push_back(w);
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
    if (tick % 10 == 9 && metrics_out)
      metrics_out << metrics_lines.second(elapsed, st) << std::endl;
    if (tick % 10 == 9) {
      wzp::client::StatusView v;
      v.elapsed_s = elapsed;
      v.state = !call             ? (session->registered() ? "registered" : "registering")
                : st.connected    ? "connected"
                : st.reconnecting ? "reconnecting"
                                  : "connecting";
      v.others = st.members;
      if (call && st.connected) v.codec = wzp::proto::codec_info(st.codec).name;
      v.loss_percent = st.loss_percent;
      v.rtt_ms = st.rtt_ms;
      v.delay_ms = st.buffer_delay_ms;
      v.decoded = st.received.slots_decoded;
      v.concealed = st.received.slots_concealed;
      v.reconnects = st.reconnects;
      v.sending = live || !audio.empty();
      v.level = level;
      if (tty) {
        // In place, cut to the terminal's width: a wrapped line would break the update.
        std::cout << "\r\033[K" << wzp::client::status_line(v, terminal_width()) << std::flush;
      } else {
        // A pipe is block-buffered: whoever reads wants it now.
        std::cout << wzp::client::status_line(v) << std::endl;
      }
    }
    if (stopping || elapsed >= duration) break;
  }
  if (tty) std::cout << "\n";
  const auto final_status = call ? call->status() : wzp::client::RoomCallStatus{};
  if (session && calls.in_call()) session->send(wzp::proto::Hangup{calls.call_id(), "bye"});
  if (call) call->hang_up();
  if (session) session->deregister();
  io.run_for(std::chrono::milliseconds(200));
  if (exit_code == 0 && echo_secs > 0) {
    for (auto w : probe.take_finished()) echo_windows.push_back(w);
    const std::string verdict = wzp::client::EchoProbe::verdict(echo_windows);
    std::printf("echo test verdict: %s\n", verdict.c_str());
    if (verdict.rfind("FAIL", 0) == 0) exit_code = 1;
  }
  if (exit_code == 0 && drift_secs > 0) {
    const auto& j = final_status;
    if (!j.drift_ppm || delay_n == 0) {
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
          *j.drift_ppm, *j.drift_ppm * 60e-3, delay_min, delay_max, delay_sum / delay_n,
          j.accelerated, j.decelerated, filled);
      std::printf("drift test verdict: %s\n", filled > 98 && delay_max < 1000
                                                  ? "ABSORBED: the buffer followed the drift"
                                                  : "NOT ABSORBED: gaps or growing delay");
    }
  }
  if (exit_code == 0 && !record.empty()) {
    const auto& r = final_status.received;
    const double filled = r.slots_decoded + r.slots_concealed
                              ? 100.0 * r.slots_decoded / (r.slots_decoded + r.slots_concealed)
                              : 0.0;
    std::cout << "wzp-client: recorded " << static_cast<int>(recorded_s) << " s to " << record;
    if (loudest_rms > 100) {
      std::printf("; loudest second: %.1f Hz, RMS %.0f", wzp::codec::dominant_frequency(loudest),
                  loudest_rms);
    }
    std::printf("; playout filled with decoded audio %.1f %%, %lu frames recovered by FEC\n",
                filled, r.frames_recovered);
    if (!heard) {
      // A silent file is not a result: say so, and let scripts see it.
      std::cout << "wzp-client: heard nothing: the recording is silence (" << final_status.members
                << (final_status.members == 1 ? " other" : " others") << " in the room at the end)"
                << std::endl;
      exit_code = 1;
    }
  }
  return exit_code;
}
