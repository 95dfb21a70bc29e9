// A deterministic call over a simulated link: a CallEncoder feeding a CallDecoder through a
// lossy, delaying, jittering in-memory link, driven by a simulated 20 ms clock. Quality
// measured at the receiver reaches the sender's controller once a second. Used by the tests,
// the jitter-buffer sweep (wzp-client --sweep) and the benchmarks.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "client/call_decoder.h"
#include "client/call_encoder.h"
#include "codec/audio_analysis.h"
#include "crypto/session_crypto.h"
#include "proto/loss_model.h"

namespace wzp::client {

struct SimLink : DatagramSink {
  struct InFlight {
    uint64_t at;
    std::vector<uint8_t> bytes;
  };
  proto::LossModel* loss = nullptr;
  uint64_t now = 0, delay_ms = 40;
  uint32_t jitter_ms = 0;
  std::mt19937 rng{99};
  std::deque<InFlight> queue;
  uint64_t sent = 0, dropped = 0;
  void send(std::span<const uint8_t> d) override {
    ++sent;
    if (loss && loss->lose()) {
      ++dropped;
      return;
    }
    const uint64_t extra = jitter_ms ? std::uniform_int_distribution<uint32_t>(0, jitter_ms)(rng) : 0;
    InFlight f{now + delay_ms + extra, {d.begin(), d.end()}};
    // Keep the queue ordered by delivery time (jitter reorders).
    auto it = queue.end();
    while (it != queue.begin() && std::prev(it)->at > f.at) --it;
    queue.insert(it, std::move(f));
  }
};

struct SimCall {
  crypto::SessionKeys keys;
  std::unique_ptr<crypto::SessionCrypto> tx_crypto, rx_crypto;
  std::unique_ptr<SessionMediaCrypto> tx, rx;
  SimLink link;
  std::unique_ptr<CallEncoder> encoder;
  std::unique_ptr<CallDecoder> decoder;
  std::vector<int16_t> output;         // everything played
  std::vector<proto::Tier> tier_by_second;
  std::function<void(uint32_t tick)> on_tick;  // after each playout step

  SimCall(const CallEncoderConfig& ec, const CallDecoderConfig& dc = {}) {
    for (size_t i = 0; i < 32; ++i) keys.key.data()[i] = static_cast<uint8_t>(i * 13 + 5);
    keys.session_id = 0x5EED;
    tx_crypto = std::make_unique<crypto::SessionCrypto>(keys, crypto::Direction::kOfferer);
    rx_crypto = std::make_unique<crypto::SessionCrypto>(keys, crypto::Direction::kAnswerer);
    tx = std::make_unique<SessionMediaCrypto>(*tx_crypto);
    // The receiver opens what the offerer sealed: its session expects the offerer's direction.
    rx = std::make_unique<SessionMediaCrypto>(*rx_crypto);
    encoder = std::make_unique<CallEncoder>(ec, *tx, link);
    decoder = std::make_unique<CallDecoder>(dc, *rx);
  }

  // Frame t of the audio to send (kPcmFrame samples).
  using Source = std::function<std::span<const int16_t>(uint32_t t)>;

  // Runs `seconds` of audio (a 440 Hz tone unless `source` says otherwise); `on_second` may
  // change the link each second.
  void run(uint32_t seconds, const std::function<void(uint32_t)>& on_second = {},
           const Source& source = {}) {
    const size_t frame = kPcmFrame;
    std::vector<int16_t> pcm(frame), out(frame);
    const uint32_t ticks = seconds * 50 + 200;  // then 4 s to drain
    for (uint32_t t = 0; t < ticks; ++t) {
      const uint64_t now = t * 20ull;
      link.now = now;
      if (t % 50 == 0 && on_second) on_second(t / 50);
      if (t < seconds * 50) {
        if (source) {
          encoder->push(source(t), now);
        } else {
          pcm = codec::tone(440, frame, 8000, codec::kSampleRate, t * frame);
          encoder->push(pcm, now);
        }
      } else if (t == seconds * 50) {
        encoder->flush();
      }
      while (!link.queue.empty() && link.queue.front().at <= now) {
        decoder->on_datagram(link.queue.front().bytes, link.queue.front().at);
        link.queue.pop_front();
      }
      // After the sender stops, play out what is buffered and no further.
      if (t > seconds * 50 && link.queue.empty() && decoder->buffered_ms() == 0) break;
      decoder->pull(out, now);
      if (on_tick) on_tick(t);
      output.insert(output.end(), out.begin(), out.end());
      if (t % 50 == 49) {
        encoder->on_peer_quality(decoder->take_measurement(), now);
        tier_by_second.push_back(encoder->tier());
      }
    }
  }

  // Share of playout slots filled with decoded audio rather than concealment.
  double filled() const {
    const auto& s = decoder->stats();
    return static_cast<double>(s.slots_decoded) / (s.slots_decoded + s.slots_concealed);
  }
};

}  // namespace wzp::client
