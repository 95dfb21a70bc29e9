#include "speech.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace wzp::interop {

std::vector<int16_t> espeak_speech(const std::string& sentence, int words_per_minute) {
  std::vector<int16_t> pcm;
  // The sentence goes through a file, not the shell's quoting.
  const auto dir = std::filesystem::temp_directory_path();
  const std::string stem = (dir / ("wzp-speech-" + std::to_string(getpid()))).string();
  std::ofstream(stem + ".txt") << sentence;
  const std::string cmd =
      "espeak-ng --stdout -s " + std::to_string(words_per_minute) + " -f '" + stem +
      ".txt' 2>/dev/null | sox -q -D -t wav - -r 48000 -c 1 -b 16 -e signed -t raw '" + stem +
      ".raw' 2>/dev/null";
  if (std::system(cmd.c_str()) == 0) {
    std::ifstream in(stem + ".raw", std::ios::binary);
    for (int16_t s; in.read(reinterpret_cast<char*>(&s), 2);) pcm.push_back(s);
  }
  std::remove((stem + ".txt").c_str());
  std::remove((stem + ".raw").c_str());
  pcm.resize(pcm.size() / 1920 * 1920);
  return pcm;
}

const std::string& speech_passage() {
  static const std::string text =
      "Voice calls that keep working on hostile networks. The relay forwards every packet to the "
      "others in the room, and it never decodes the audio. When the path loses a packet, the "
      "repair symbols rebuild it, and the listener hears the word as it was spoken. Seven, "
      "eighteen, twenty nine, forty two. Quick brown foxes jump over lazy dogs while the jitter "
      "buffer waits only as long as recovery needs. Each member holds its own sender key, so a "
      "relay nobody trusts cannot speak for anyone. Please call me back when the outage is over; "
      "the connection is kept, and the audio returns the moment the path does.";
  return text;
}

}  // namespace wzp::interop
