// wzp-client: calls through a relay from the command line — send a tone or a file, record
// what the room says — and identity management. The parts: wzp_client/options (the command
// line), wzp_client/call_audio (what is sent and what is done with what is heard) and
// wzp_client/client_app (the call or registration, stdin commands, status and summary).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli.h"
#include "client/jitter_sweep.h"
#include "client/live_audio.h"
#include "crypto/handshake.h"
#include "crypto/identity.h"
#include "proto/hex.h"
#include "proto/room_secret.h"
#include "transport/endpoint.h"
#include "wzp_client/call_audio.h"
#include "wzp_client/client_app.h"
#include "wzp_client/options.h"

namespace {

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

int run_sweep(const wzp::apps::ClientOptions& o) {
  std::printf("%-16s %10s %12s %6s\n", "jitter buffer", "delay ms", "concealed %", "late");
  const auto points =
      wzp::client::run_jitter_sweep(o.sweep_opt, [](const wzp::client::SweepPoint& p) {
        std::printf("%-16s %10.1f %12.2f %6lu\n", p.label.c_str(), p.delay_ms, p.concealed, p.late);
        std::fflush(stdout);
      });
  std::ofstream svg(o.sweep_out);
  svg << wzp::client::sweep_svg(points, o.sweep_opt);
  if (!svg) {
    std::cerr << "wzp-client: cannot write " << o.sweep_out << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  std::printf("chart: %s\n", o.sweep_out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wzp-client: WarzonePhone call client"};
  wzp::apps::ClientOptions o;
  wzp::apps::add_client_flags(app, o);
  if (const auto rc = wzp::apps::parse_command_line(app, "wzp-client", argc, argv)) return *rc;
  if (o.sweep) return run_sweep(o);
  if (int rc = identity_commands(o.identity_path, o.show_identity, o.show_mnemonic, o.restore);
      rc >= 0) {
    return rc;
  }
  if (o.new_secret) {
    std::cout << wzp::proto::to_hex(wzp::crypto::random_nonce(wzp::proto::kRoomSecretBytes))
              << "\n";
    return 0;
  }
  if (o.relay.empty()) {
    std::cerr << "wzp-client: a relay address is required (see --help)\n";
    return 2;
  }
  if (!o.acts()) {
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
  const auto ep = wzp::transport::parse_address(o.relay);
  if (!ep.address) {
    std::cerr << "wzp-client: relay " << ep.error << "\n";
    return 2;
  }
  std::vector<int16_t> send;
  try {
    send = wzp::apps::CallAudio::load_send_audio(o);
  } catch (const std::exception& e) {
    std::cerr << "wzp-client: " << e.what() << "\n";
    return 2;
  }
  const bool registers = o.do_register || !o.call_fp.empty() || o.auto_answer;
  if (o.echo_secs > 0) o.duration = o.echo_secs + 2;  // the last window's answer needs a second
  if (o.drift_secs > 0) o.duration = o.drift_secs;
  // A recorder, a live call or a registration runs until Ctrl-C; a sender until its audio is
  // sent (and 2 s for the tail to arrive).
  if (o.duration <= 0)
    o.duration = registers || o.live || send.empty() ? 1e9 : send.size() / 48000.0 + 2;
  std::unique_ptr<wzp::client::LiveAudio> device;
  if (o.live) {
    std::string why;
    device = wzp::client::LiveAudio::open(&why);
    if (!device) {
      std::cerr << "wzp-client: --live: " << why << "\n";
      return 1;
    }
  }
  std::ofstream metrics;
  if (!o.metrics_file.empty()) {
    metrics.open(o.metrics_file, std::ios::app);
    if (!metrics) {
      std::cerr << "wzp-client: cannot write " << o.metrics_file << ": " << std::strerror(errno)
                << "\n";
      return 2;
    }
  }
  std::unique_ptr<wzp::crypto::Identity> identity;
  std::unique_ptr<wzp::apps::CallAudio> audio;
  try {
    const auto parent = std::filesystem::path(o.identity_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    bool created = false;
    identity = std::make_unique<wzp::crypto::Identity>(
        wzp::crypto::load_or_create_identity(o.identity_path, &created));
    if (created) {
      std::cout << "wzp-client: new identity " << identity->fingerprint() << " saved in "
                << o.identity_path << " (--show-identity --show-mnemonic prints its recovery words)"
                << std::endl;
    }
    audio = std::make_unique<wzp::apps::CallAudio>(o, std::move(send), std::move(device),
                                                   metrics.is_open() ? &metrics : nullptr);
  } catch (const std::exception& e) {
    std::cerr << "wzp-client: " << e.what() << "\n";
    return 2;
  }
  return wzp::apps::ClientApp(o, *ep.address, *identity, *audio,
                              metrics.is_open() ? &metrics : nullptr)
      .run();
}
