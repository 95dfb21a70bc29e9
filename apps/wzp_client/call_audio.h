// What wzp-client sends and what it does with what it hears: a tone, a file, the echo test's
// probe or the microphone on the way out; the speaker, a recording and the echo test's analysis
// on the way in, with what the summary reports (the loudest second, whether anything was heard).
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client/echo_probe.h"
#include "client/live_audio.h"
#include "client/wav.h"
#include "wzp_client/options.h"

namespace wzp::apps {

class CallAudio {
 public:
  // What the options say to send (empty: nothing). Throws with a message on an unreadable file.
  static std::vector<int16_t> load_send_audio(const ClientOptions& o);

  // `device`: --live's microphone and speaker (null without); `metrics`: where the send_start
  // and record_start marks go (null: none). Opens the recording; throws when it cannot.
  CallAudio(const ClientOptions& o, std::vector<int16_t> send,
            std::unique_ptr<client::LiveAudio> device, std::ostream* metrics);

  // RoomCall's source and sink, one 20 ms frame at a time.
  bool source(std::span<int16_t> pcm);
  void sink(std::span<const int16_t> pcm);

  bool sending() const { return device_ != nullptr || !send_.empty(); }
  bool nothing_to_send() const { return send_.empty(); }
  double seconds_to_send() const { return static_cast<double>(send_.size()) / 48000.0; }
  double level() const { return level_; }  // RMS of the last frame played
  client::EchoProbe& echo() { return probe_; }

  // For the summary.
  double recorded_s() const { return recorded_s_; }
  bool heard() const { return heard_; }  // a sample that was not zero was played
  double loudest_rms() const { return loudest_rms_; }
  const std::vector<int16_t>& loudest() const { return loudest_; }  // that whole second

 private:
  // With --metrics-file, when the first sample was captured and when the recording's first
  // sample played, on the machine's monotonic clock: a listener on the same machine measures
  // mouth-to-ear delay from the two files alone (wzp-bench network does).
  void mark(const char* event, double ms_before_now);

  std::vector<int16_t> send_;
  size_t at_ = 0;
  bool echo_test_ = false;
  client::EchoProbe probe_;
  std::unique_ptr<client::LiveAudio> device_;
  std::ostream* metrics_ = nullptr;
  std::unique_ptr<client::WavWriter> wav_;
  std::ofstream raw_;
  double level_ = 0;
  std::vector<int16_t> second_, loudest_;
  double loudest_rms_ = 0;
  double recorded_s_ = 0;
  bool heard_ = false, sink_started_ = false;
};

}  // namespace wzp::apps
