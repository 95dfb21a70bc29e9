// A deterministic call over a simulated link: a CallEncoder feeding a CallDecoder through a
// lossy, delaying, jittering in-memory link, driven by a simulated 20 ms clock. Quality
// measured at the receiver reaches the sender's controller once a second. Used by the tests,
// the jitter-buffer sweep (wzp-client --sweep) and the benchmarks.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "client/call_decoder.h"
#include "client/call_encoder.h"
#include "codec/audio_analysis.h"
#include "crypto/session_crypto.h"
#include "proto/capacity_meter.h"
#include "transport/impairment.h"

namespace wzp::client {

// Datagrams sent at one instant travel in one packet (as QUIC packs what is queued in one turn
// of the event loop), so they share one fate. The path is the impairment model wzp-netem
// applies to real packets: by default a clean one with 40 ms of delay.
struct SimLink : DatagramSink {
  struct InFlight {
    uint64_t at;
    std::vector<uint8_t> bytes;
    size_t control = 0;  // a packet without datagrams of this size (see occupy)
  };
  static transport::ImpairmentConfig clean() {
    transport::ImpairmentConfig c;
    c.delay_ms = 40;
    return c;
  }
  std::unique_ptr<transport::Impairment> path = std::make_unique<transport::Impairment>(clean());
  uint64_t now = 0;
  std::deque<InFlight> queue;
  std::vector<std::vector<uint8_t>> pending;  // sent at `now`, not yet on the path
  uint64_t sent = 0, dropped = 0;             // datagrams
  uint64_t packets = 0, packets_lost = 0;     // packets (what the path decides on)
  uint64_t bytes_sent = 0;

  // A new path from here on (what is already in flight still arrives).
  void set_path(const transport::ImpairmentConfig& c) {
    path = std::make_unique<transport::Impairment>(c);
  }
  void send(std::span<const uint8_t> d) override {
    ++sent;
    bytes_sent += d.size();
    pending.emplace_back(d.begin(), d.end());
  }
  // A packet without datagrams (signalling, acknowledgements) on the path at `now`: it takes its
  // time on a capped link, and the receiver's transport counts it (control_delivered).
  // Returns whether the path delivers it.
  bool occupy(size_t bytes) {
    const auto decision = path->on_packet(now, bytes);
    for (int k = 0; k < decision.deliveries; ++k) insert({decision.deliver_at_ms[k], {}, bytes});
    return decision.deliveries > 0;
  }
  // What QuicStats::control_bytes_received would say at the receiver.
  uint64_t control_delivered = 0;
  // Bytes the next packet of datagrams carries besides them (an acknowledgement frame riding
  // with the media: QuicConfig::ack_hold_ms).
  size_t riding = 0;
  // Puts what was sent at `now` on the path as one packet.
  void flush() {
    if (pending.empty()) return;
    ++packets;
    // What a rate cap counts, as wzp-netem counts a UDP payload: the datagrams and QUIC's own
    // bytes around them (short header, packet number, frame headers, AEAD tag).
    size_t size = proto::kQuicPacketBytes + std::exchange(riding, 0);
    for (const auto& d : pending) size += d.size();
    const auto decision = path->on_packet(now, size);
    if (decision.deliveries == 0) {
      ++packets_lost;
      dropped += pending.size();
    }
    for (int k = 0; k < decision.deliveries; ++k) {
      const uint64_t at = decision.deliver_at_ms[k];
      for (const auto& d : pending) insert({at, d});
    }
    pending.clear();
  }
  // Takes what has arrived by `now`: the datagrams, to `deliver` (with the control bytes so far).
  template <typename F>
  void arrive(uint64_t until, F&& deliver) {
    while (!queue.empty() && queue.front().at <= until) {
      const InFlight& f = queue.front();
      if (f.control) {
        control_delivered += f.control + proto::kIpUdpHeaderBytes;
      } else {
        deliver(f.bytes, f.at, control_delivered);
      }
      queue.pop_front();
    }
  }

 private:
  // Keeps the queue ordered by delivery time (jitter reorders).
  void insert(InFlight f) {
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
  std::vector<int16_t> output;  // everything played
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
  // change the link each second. The clock moves in 5 ms steps: frames every 20 ms, their
  // repairs paced in between, each step's datagrams one packet on the link.
  void run(uint32_t seconds, const std::function<void(uint32_t)>& on_second = {},
           const Source& source = {}) {
    const size_t frame = kPcmFrame;
    std::vector<int16_t> pcm(frame), out(frame);
    const uint32_t ticks = seconds * 50 + 200;  // then 4 s to drain
    uint32_t last_report = 0;  // the tick after the last report (the first comes at 1 s)
    for (uint32_t t = 0; t < ticks; ++t) {
      for (uint32_t sub = 0; sub < 4; ++sub) {
        const uint64_t now = t * 20ull + sub * 5;
        link.now = now;
        if (sub == 0) {
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
        }
        encoder->pace(now);
        link.flush();
        link.arrive(now, [&](std::span<const uint8_t> d, uint64_t at, uint64_t control) {
          decoder->on_datagram(d, at, control);
        });
        if (sub != 0) continue;
        // Playout at the frame boundary, as RoomCall's tick does after sending.
        decoder->pull(out, now);
        if (on_tick) on_tick(t);
        output.insert(output.end(), out.begin(), out.end());
      }
      // After the sender stops, play out what is buffered and no further.
      if (t > seconds * 50 && link.queue.empty() && decoder->buffered_ms() == 0) break;
      // Reports when RoomCall would send them.
      if (report_due(t + 1 - last_report, decoder->queue_growing())) {
        last_report = t + 1;
        encoder->on_peer_quality(decoder->take_measurement(t * 20ull), t * 20ull);
      }
      if (t % 50 == 49) tier_by_second.push_back(encoder->tier());
    }
  }

  // Share of playout slots filled with decoded audio rather than concealment.
  double filled() const {
    const auto& s = decoder->stats();
    return static_cast<double>(s.slots_decoded) / (s.slots_decoded + s.slots_concealed);
  }
};

}  // namespace wzp::client
