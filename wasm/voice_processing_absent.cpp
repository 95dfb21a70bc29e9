// The WebRTC audio processing module (noise suppression, gain control, echo cancellation) has
// no WebAssembly build here, and the page has its own: RNNoise in its capture path and the
// browser's echo cancellation in getUserMedia. The page's engine runs with voice processing
// off; asked for it, it says so.
#include <stdexcept>

#include "codec/voice_processing.h"

namespace wzp::codec {

struct VoiceProcessor::Impl {};

VoiceProcessor::VoiceProcessor(const VoiceProcessingConfig& config) : config_(config) {
  throw std::runtime_error(
      "voice processing is not in the WebAssembly build (the page has its own)");
}
VoiceProcessor::~VoiceProcessor() = default;
void VoiceProcessor::capture(std::span<int16_t>) {}
void VoiceProcessor::render(std::span<const int16_t>) {}

}  // namespace wzp::codec
