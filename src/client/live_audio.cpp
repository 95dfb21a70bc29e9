#include "client/live_audio.h"

#include <portaudio.h>

#include <algorithm>

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

std::unique_ptr<LiveAudio> LiveAudio::open(std::string* error) {
  std::unique_ptr<LiveAudio> a(new LiveAudio());
  PaError e = Pa_Initialize();
  if (e != paNoError) {
    *error = std::string("PortAudio: ") + Pa_GetErrorText(e);
    return nullptr;
  }
  a->impl_->initialised = true;
  if (Pa_GetDefaultInputDevice() == paNoDevice || Pa_GetDefaultOutputDevice() == paNoDevice) {
    *error = Pa_GetDefaultInputDevice() == paNoDevice ? "no microphone (no default input device)"
                                                      : "no speaker (no default output device)";
    return nullptr;
  }
  e = Pa_OpenDefaultStream(&a->impl_->stream, 1, 1, paInt16, 48000, 960, &Impl::callback,
                           a->impl_.get());
  if (e == paNoError) e = Pa_StartStream(a->impl_->stream);
  if (e != paNoError) {
    *error = std::string("cannot open the audio device: ") + Pa_GetErrorText(e);
    return nullptr;
  }
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
