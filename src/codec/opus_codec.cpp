// Opus through libopus: 48 kHz mono, VoIP application, constant bitrate per codec id.
#include <opus/opus.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "codec/audio_codec.h"
#include "codec/codec_factory.h"

namespace wzp::codec {
namespace {

struct OpusEncoderDeleter {
  void operator()(OpusEncoder* e) const { opus_encoder_destroy(e); }
};
struct OpusDecoderDeleter {
  void operator()(OpusDecoder* d) const { opus_decoder_destroy(d); }
};

class OpusEnc final : public Encoder {
 public:
  OpusEnc(proto::CodecId id, const EncoderOptions& o) : id_(id) {
    int err = 0;
    enc_.reset(opus_encoder_create(kSampleRate, 1, OPUS_APPLICATION_VOIP, &err));
    if (err != OPUS_OK) throw std::runtime_error(std::string("opus: ") + opus_strerror(err));
    opus_encoder_ctl(enc_.get(),
                     OPUS_SET_BITRATE(static_cast<int>(proto::codec_info(id).bitrate_bps)));
    opus_encoder_ctl(enc_.get(), OPUS_SET_VBR(0));  // CBR: fixed frame sizes suit FEC symbols
    opus_encoder_ctl(enc_.get(), OPUS_SET_COMPLEXITY(o.complexity));
    opus_encoder_ctl(enc_.get(), OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    opus_encoder_ctl(enc_.get(), OPUS_SET_INBAND_FEC(o.inband_fec ? 1 : 0));
    opus_encoder_ctl(enc_.get(), OPUS_SET_PACKET_LOSS_PERC(o.expected_loss_percent));
    opus_encoder_ctl(enc_.get(), OPUS_SET_DTX(o.dtx ? 1 : 0));
  }
  proto::CodecId id() const override { return id_; }
  size_t encode(std::span<const int16_t> pcm, std::span<uint8_t> out) override {
    const int n = opus_encode(enc_.get(), pcm.data(), static_cast<int>(pcm.size()), out.data(),
                              static_cast<opus_int32>(out.size()));
    return n > 0 ? static_cast<size_t>(n) : 0;
  }
  void set_expected_loss(int percent) override {
    opus_encoder_ctl(enc_.get(), OPUS_SET_PACKET_LOSS_PERC(percent));
  }

 private:
  proto::CodecId id_;
  std::unique_ptr<OpusEncoder, OpusEncoderDeleter> enc_;
};

class OpusDec final : public Decoder {
 public:
  explicit OpusDec(proto::CodecId id) : id_(id) {
    int err = 0;
    dec_.reset(opus_decoder_create(kSampleRate, 1, &err));
    if (err != OPUS_OK) throw std::runtime_error(std::string("opus: ") + opus_strerror(err));
  }
  proto::CodecId id() const override { return id_; }
  bool decode(std::span<const uint8_t> data, std::span<int16_t> pcm) override {
    const int n = opus_decode(dec_.get(), data.data(), static_cast<opus_int32>(data.size()),
                              pcm.data(), static_cast<int>(pcm.size()), 0);
    if (n == static_cast<int>(pcm.size())) return true;
    conceal(pcm);
    return false;
  }
  void conceal(std::span<int16_t> pcm) override {
    // A null packet asks libopus for its packet-loss concealment of this duration.
    if (opus_decode(dec_.get(), nullptr, 0, pcm.data(), static_cast<int>(pcm.size()), 0) < 0) {
      std::fill(pcm.begin(), pcm.end(), 0);
    }
  }

 private:
  proto::CodecId id_;
  std::unique_ptr<OpusDecoder, OpusDecoderDeleter> dec_;
};

}  // namespace

std::unique_ptr<Encoder> make_opus_encoder(proto::CodecId id, const EncoderOptions& o) {
  return std::make_unique<OpusEnc>(id, o);
}
std::unique_ptr<Decoder> make_opus_decoder(proto::CodecId id) {
  return std::make_unique<OpusDec>(id);
}

}  // namespace wzp::codec
