#include "codec/voice_processing.h"

#include <stdexcept>

#include "codec/audio_codec.h"
#include "webrtc/modules/audio_processing/include/audio_processing.h"
#include "webrtc/modules/interface/module_common_types.h"

namespace wzp::codec {

namespace {
constexpr size_t kChunk = 10 * kSamplesPerMs;  // APM works on 10 ms
}  // namespace

struct VoiceProcessor::Impl {
  std::unique_ptr<webrtc::AudioProcessing> apm;
  webrtc::AudioFrame frame;  // large (7.7 kB): kept, not put on the stack per call
};

VoiceProcessor::VoiceProcessor(const VoiceProcessingConfig& config)
    : config_(config), impl_(std::make_unique<Impl>()) {
  impl_->apm.reset(webrtc::AudioProcessing::Create());
  if (!impl_->apm) throw std::runtime_error("webrtc audio processing: cannot create");
  auto* apm = impl_->apm.get();
  apm->high_pass_filter()->Enable(true);
  apm->noise_suppression()->set_level(webrtc::NoiseSuppression::kHigh);
  apm->noise_suppression()->Enable(config.noise_suppression);
  apm->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
  apm->gain_control()->Enable(config.gain_control);
  apm->echo_cancellation()->Enable(config.echo_cancellation);
  apm->echo_cancellation()->set_suppression_level(webrtc::EchoCancellation::kHighSuppression);
}

VoiceProcessor::~VoiceProcessor() = default;

void VoiceProcessor::capture(std::span<int16_t> pcm) {
  auto& f = impl_->frame;
  for (size_t at = 0; at + kChunk <= pcm.size(); at += kChunk) {
    f.UpdateFrame(0, 0, &pcm[at], kChunk, kSampleRate, webrtc::AudioFrame::kNormalSpeech,
                  webrtc::AudioFrame::kVadUnknown, 1);
    if (config_.echo_cancellation) impl_->apm->set_stream_delay_ms(config_.echo_delay_ms);
    if (impl_->apm->ProcessStream(&f) == 0) std::copy_n(f.data_, kChunk, &pcm[at]);
  }
}

void VoiceProcessor::render(std::span<const int16_t> pcm) {
  if (!config_.echo_cancellation) return;
  auto& f = impl_->frame;
  for (size_t at = 0; at + kChunk <= pcm.size(); at += kChunk) {
    f.UpdateFrame(0, 0, &pcm[at], kChunk, kSampleRate, webrtc::AudioFrame::kNormalSpeech,
                  webrtc::AudioFrame::kVadUnknown, 1);
    impl_->apm->ProcessReverseStream(&f);
  }
}

}  // namespace wzp::codec
