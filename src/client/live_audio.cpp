#include "client/live_audio.h"

#include <fcntl.h>
#include <portaudio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace wzp::client {

size_t SampleRing::write(std::span<const int16_t> in) {
  const size_t head = head_.load(std::memory_order_relaxed);
  const size_t tail = tail_.load(std::memory_order_acquire);
  const size_t n = std::min(in.size(), buf_.size() - (head - tail));
  for (size_t i = 0; i < n; ++i) buf_[(head + i) % buf_.size()] = in[i];
  head_.store(head + n, std::memory_order_release);
  return n;
}

size_t SampleRing::read(std::span<int16_t> out) {
  const size_t tail = tail_.load(std::memory_order_relaxed);
  const size_t head = head_.load(std::memory_order_acquire);
  const size_t n = std::min(out.size(), head - tail);
  for (size_t i = 0; i < n; ++i) out[i] = buf_[(tail + i) % buf_.size()];
  tail_.store(tail + n, std::memory_order_release);
  return n;
}

struct LiveAudio::Impl {
  SampleRing mic{48000}, speaker{48000};  // a second each way at most
  PaStream* stream = nullptr;
  bool initialised = false;

  // PortAudio's thread: no locks, no allocation.
  static int callback(const void* in, void* out, unsigned long frames,
                      const PaStreamCallbackTimeInfo*, PaStreamCallbackFlags, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (in) self->mic.write({static_cast<const int16_t*>(in), frames});
    auto* o = static_cast<int16_t*>(out);
    const size_t got = self->speaker.read({o, frames});
    std::fill(o + got, o + frames, int16_t{0});
    return paContinue;
  }
};

LiveAudio::LiveAudio() : impl_(std::make_unique<Impl>()) {}

LiveAudio::~LiveAudio() {
  if (impl_->stream) {
    Pa_StopStream(impl_->stream);
    Pa_CloseStream(impl_->stream);
  }
  if (impl_->initialised) Pa_Terminate();
}

namespace {

// ALSA and JACK print dozens of lines to stderr while PortAudio looks for devices (about 60 on
// a machine without a sound card) before we can say the one that matters. While it lives,
// stderr goes to /dev/null, unless WZP_AUDIO_DEBUG is set.
class QuietStderr {
 public:
  QuietStderr() {
    if (std::getenv("WZP_AUDIO_DEBUG")) return;
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved_ >= 0 && null >= 0) ::dup2(null, STDERR_FILENO);
    if (null >= 0) ::close(null);
  }
  ~QuietStderr() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_ = -1;
};

}  // namespace

std::unique_ptr<LiveAudio> LiveAudio::open(std::string* error) {
  std::unique_ptr<LiveAudio> a(new LiveAudio());
  std::optional<QuietStderr> quiet(std::in_place);
  PaError e = Pa_Initialize();
  if (e != paNoError) {
    *error = std::string("PortAudio: ") + Pa_GetErrorText(e);
    return nullptr;
  }
  a->impl_->initialised = true;
  if (Pa_GetDefaultInputDevice() == paNoDevice || Pa_GetDefaultOutputDevice() == paNoDevice) {
    *error = std::string(Pa_GetDefaultInputDevice() == paNoDevice
                             ? "no microphone (no default input device)"
                             : "no speaker (no default output device)") +
             "; WZP_AUDIO_DEBUG=1 shows what the audio drivers said";
    return nullptr;
  }
  e = Pa_OpenDefaultStream(&a->impl_->stream, 1, 1, paInt16, 48000, 960, &Impl::callback,
                           a->impl_.get());
  if (e == paNoError) e = Pa_StartStream(a->impl_->stream);
  if (e != paNoError) {
    *error = std::string("cannot open the audio device: ") + Pa_GetErrorText(e);
    return nullptr;
  }
  quiet.reset();
  return a;
}

bool LiveAudio::capture(std::span<int16_t> pcm) {
  if (impl_->mic.available() < pcm.size()) {
    std::fill(pcm.begin(), pcm.end(), int16_t{0});
    return false;
  }
  impl_->mic.read(pcm);
  return true;
}

void LiveAudio::play(std::span<const int16_t> pcm) {
  if (impl_->speaker.write(pcm) < pcm.size()) ++overruns_;
}

}  // namespace wzp::client
