// The WebAssembly build has no Codec2 yet. Debian's codec2 source (codec2_1.0.5.orig.tar.gz,
// the release libcodec2-dev is built from) is the one to build, as Opus is built from Debian's
// opus source; this build machine's Debian mirror does not serve that file, and npm offers no
// build of it. Asked for a Codec2 tier, the page's codec layer says so instead of guessing.
#include <stdexcept>
#include <string>

#include "codec/codec_factory.h"

namespace wzp::codec {

namespace {
[[noreturn]] void absent(proto::CodecId id) {
  throw std::runtime_error(std::string(proto::codec_info(id).name) +
                           ": Codec2 is not in the WebAssembly build");
}
}  // namespace

std::unique_ptr<Encoder> make_codec2_encoder(proto::CodecId id) { absent(id); }
std::unique_ptr<Decoder> make_codec2_decoder(proto::CodecId id) { absent(id); }

}  // namespace wzp::codec
