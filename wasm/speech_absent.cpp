// No espeak-ng or sox inside WebAssembly: the speech helpers give nothing, and the tests that
// need speech say they were skipped (the native build runs them on real speech).
#include "speech.h"

namespace wzp::interop {

std::vector<int16_t> espeak_speech(const std::string&, int) { return {}; }

const std::string& speech_passage() {
  static const std::string none;
  return none;
}

}  // namespace wzp::interop
