#include "wzp_client/options.h"

#include <cstdlib>

#include "cli.h"
#include "crypto/identity.h"
#include "proto/room_secret.h"
#include "transport/endpoint.h"

namespace wzp::apps {

namespace {

// A CLI11 validator from a function that returns what is wrong ("" when nothing is).
CLI::Validator check(std::function<std::string(std::string&)> f, const char* name) {
  return CLI::Validator(std::move(f), name);
}

}  // namespace

std::string home_path(const char* leaf) {
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.wzp/" + leaf;
}

void add_client_flags(CLI::App& app, ClientOptions& o) {
  o.identity_path = home_path("identity");
  o.pins = home_path("known_relays");
  app.add_option("relay", o.relay, "relay address HOST:PORT");
  app.add_option("--room", o.room, "room to join")->capture_default_str();
  app.add_option("--fallback-relay", o.fallbacks,
                 "another relay of the cluster (repeatable), numeric HOST:PORT: the call, and "
                 "the registration (--register), move there on their own when their relay stops "
                 "answering")
      ->check(check(
          [](std::string& a) {
            const auto parsed = transport::parse_address(a);
            if (!parsed.address) return parsed.error;
            return transport::numeric_endpoint(*parsed.address).endpoint
                       ? std::string()
                       : "'" + a + "' is not a numeric address (IP:PORT)";
          },
          "HOST:PORT"));
  app.add_option("--name", o.name, "display name shown to the room");
  app.add_option(
         "--secret", o.secret,
         "the invite-only room of --room's name and this secret (32 hex digits): the relay "
         "admits only those who hold it; without it a room is open to anyone who knows its name")
      ->check(check(
          [](std::string& s) {
            return proto::parse_room_secret(s)
                       ? std::string()
                       : "a room secret is 32 hex digits (wzp-client --new-secret makes one)";
          },
          "HEX"));
  app.add_flag("--new-secret", o.new_secret, "print a fresh room secret for --secret and exit");
  app.add_flag("--constant-rate", o.constant_rate,
               "send at the same rate and size in pauses as in speech (no silence suppression): "
               "who speaks when does not show on the wire, at about twice the bytes of a "
               "conversation");
  app.add_option("--expect", o.expect,
                 "hand our key only to this fingerprint (repeatable): anyone else the relay lists "
                 "in the room hears nothing of us")
      ->check(check(
          [](std::string& fp) {
            return crypto::is_fingerprint(fp) ? std::string()
                                              : "'" + fp + "' is not a fingerprint (like " +
                                                    "0a1b:2c3d:4e5f:6a7b:8c9d:0e1f:2a3b:4c5d, " +
                                                    "from wzp-client --show-identity)";
          },
          "FINGERPRINT"));
  app.add_option("--identity", o.identity_path,
                 "identity file, created on first use (default: ~/.wzp/identity)");
  app.add_option("--known-relays", o.pins,
                 "relay certificate pins, trust on first use (default: ~/.wzp/known_relays)");
  app.add_flag("--show-identity", o.show_identity, "print the fingerprint and exit");
  app.add_flag("--show-mnemonic", o.show_mnemonic, "with --show-identity: also the recovery words");
  app.add_flag("--restore-identity", o.restore, "read 24 recovery words on stdin into --identity");
  app.add_option("--send-tone", o.tone_secs,
                 "send a tone (440 Hz unless --tone-freq) for SECS seconds")
      ->check(positive_seconds());
  app.add_option("--tone-freq", o.tone_hz, "the tone's frequency, Hz")
      ->check(CLI::Range(20.0, 20000.0))
      ->capture_default_str();
  app.add_flag("--register", o.do_register,
               "stay registered for direct calls (reconnects on its own); commands on stdin: "
               "relay HOST:PORT, call FINGERPRINT, answer, decline, hangup, quit");
  app.add_option("--call", o.call_fp, "call this fingerprint once registered (implies --register)");
  app.add_flag("--auto-answer", o.auto_answer, "accept incoming direct calls (implies --register)");
  app.add_option("--token", o.token, "auth token for relays started with --auth-url");
  app.add_option("--send-file", o.send_file,
                 "send a WAV file (any rate and channels) or raw 48 kHz s16le");
  app.add_option("--record", o.record,
                 "record what the room says (FILE.wav, or FILE.raw for 48 kHz s16le)")
      ->check(CLI::Validator(
          [](const std::string& f) {
            return f.ends_with(".wav") || f.ends_with(".raw")
                       ? std::string()
                       : "must end in .wav or .raw (48 kHz s16le), not '" + f + "'";
          },
          "FILE.wav|FILE.raw"));
  app.add_option("--duration", o.duration,
                 "stay in the call this many seconds (default: the send length + 2; a recorder or "
                 "--live runs until Ctrl-C)")
      ->check(positive_seconds());
  app.add_option("--profile", o.profile, "quality: auto or a pinned tier")
      ->check(CLI::IsMember({"auto", "good", "degraded", "catastrophic"}))
      ->capture_default_str();
  app.add_flag("--live", o.live, "talk and listen: microphone and speaker through PortAudio");
  app.add_option("--echo-test", o.echo_secs,
                 "SECS through the relay's echo room: loss, delay, SNR and pitch per second, "
                 "then a verdict")
      ->check(positive_seconds());
  app.add_option("--drift-test", o.drift_secs,
                 "SECS in the room: the sender's clock drift against ours and how the jitter "
                 "buffer absorbed it")
      ->check(positive_seconds());
  app.add_option("--clock-skew-ppm", o.skew_ppm,
                 "run our 20 ms clock this many ppm fast (drift tests)");
  app.add_flag("--sweep", o.sweep,
               "delay against concealment over a range of jitter-buffer settings on a simulated "
               "link (no relay needed); writes a chart");
  app.add_option("--sweep-out", o.sweep_out, "--sweep: the chart (SVG)")->capture_default_str();
  app.add_option("--sweep-jitter", o.sweep_opt.jitter_ms, "--sweep: link jitter, ms")
      ->capture_default_str();
  app.add_option("--sweep-loss", o.sweep_opt.loss, "--sweep: link loss, 0..1")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  app.add_option("--metrics-file", o.metrics_file,
                 "append one JSON line per second: loss, RTT, jitter, tier, buffer delay, "
                 "concealment, bitrate");
}

}  // namespace wzp::apps
