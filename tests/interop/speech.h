// Speech for tests and benchmarks: espeak-ng (Debian) reads a sentence, sox makes it 48 kHz
// mono 16-bit. Real speech from an independent program: its pauses, onsets and pitch are what
// the silence detector, the codecs and the speech listener must handle.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wzp::interop {

// Whether this build can make speech at all: not inside WebAssembly (wasm/speech_absent.cpp),
// where the tests that need it are skipped; natively a missing espeak-ng fails them.
#ifdef __EMSCRIPTEN__
inline constexpr bool kCanSpeak = false;
#else
inline constexpr bool kCanSpeak = true;
#endif

// The sentence read at `words_per_minute`, whole 40 ms segments only; empty when espeak-ng or
// sox is missing (scripts/install-deps.sh installs both).
std::vector<int16_t> espeak_speech(const std::string& sentence, int words_per_minute = 150);

// A minute of varied sentences about the project, for calls judged on speech.
const std::string& speech_passage();

}  // namespace wzp::interop
