#include "wzp_client/call_audio.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numbers>
#include <stdexcept>

#include "client/call_metrics.h"
#include "codec/audio_analysis.h"
#include "codec/resample.h"
#include "codec/vad.h"

namespace wzp::apps {

std::vector<int16_t> CallAudio::load_send_audio(const ClientOptions& o) {
  std::vector<int16_t> audio;
  if (!o.send_file.empty()) {
    if (o.send_file.ends_with(".raw")) {
      std::ifstream in(o.send_file, std::ios::binary);
      if (!in) throw std::runtime_error("cannot read " + o.send_file + ": " + std::strerror(errno));
      for (int16_t s; in.read(reinterpret_cast<char*>(&s), 2);) audio.push_back(s);
    } else {
      auto wav = client::read_wav(o.send_file);
      audio = codec::resample(wav.mono, wav.rate, 48000);
    }
  } else if (o.tone_secs > 0) {
    audio.resize(static_cast<size_t>(o.tone_secs * 48000));
    for (size_t i = 0; i < audio.size(); ++i) {
      audio[i] =
          static_cast<int16_t>(8000 * std::sin(2 * std::numbers::pi * o.tone_hz * i / 48000.0));
    }
  }
  return audio;
}

CallAudio::CallAudio(const ClientOptions& o, std::vector<int16_t> send,
                     std::unique_ptr<client::LiveAudio> device, std::ostream* metrics)
    : send_(std::move(send)),
      echo_test_(o.echo_secs > 0),
      device_(std::move(device)),
      metrics_(metrics) {
  if (o.record.empty()) return;
  if (o.record.ends_with(".raw")) {
    raw_.open(o.record, std::ios::binary);
    if (!raw_) throw std::runtime_error("cannot create " + o.record + ": " + std::strerror(errno));
  } else {
    wav_ = std::make_unique<client::WavWriter>(o.record);
  }
}

void CallAudio::mark(const char* event, double ms_before_now) {
  if (!metrics_) return;
  const double now =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
  *metrics_ << client::CallMetricsLines::mark(event, now - ms_before_now) << std::endl;
}

bool CallAudio::source(std::span<int16_t> pcm) {
  if (echo_test_) {
    probe_.fill(pcm);
    return true;
  }
  if (device_) return device_->capture(pcm);
  if (at_ == 0 && !send_.empty()) mark("send_start", 20);  // the frame was captured over 20 ms
  if (at_ >= send_.size()) return false;
  const size_t n = std::min(pcm.size(), send_.size() - at_);
  std::copy_n(send_.begin() + static_cast<std::ptrdiff_t>(at_), n, pcm.begin());
  at_ += n;
  return true;
}

void CallAudio::sink(std::span<const int16_t> pcm) {
  if (!sink_started_ && (wav_ || raw_.is_open())) mark("record_start", 0);
  sink_started_ = true;
  if (echo_test_) probe_.heard(pcm);
  if (device_) device_->play(pcm);
  level_ = codec::rms(pcm);
  recorded_s_ += static_cast<double>(pcm.size()) / 48000.0;
  second_.insert(second_.end(), pcm.begin(), pcm.end());
  if (second_.size() >= 48000) {
    const double r = codec::rms(second_);
    if (r > loudest_rms_) loudest_rms_ = r, loudest_ = second_;
    second_.clear();
  }
  heard_ = heard_ || std::any_of(pcm.begin(), pcm.end(), [](int16_t x) { return x != 0; });
  if (wav_) wav_->write(pcm.data(), pcm.size());
  if (raw_.is_open())
    raw_.write(reinterpret_cast<const char*>(pcm.data()),
               static_cast<std::streamsize>(pcm.size() * 2));
}

}  // namespace wzp::apps
