// Media datagrams: a 1-byte tag, then a full (12-byte) or mini (4-byte) header, an optional
// quality report, and the payload (docs/PROTOCOL.md, "Media datagrams").
//
// The sender sends a full header every 5th frame (a lost one costs at most the four minis
// after it: after an outage, audio is back within 80 ms) and whenever a field that a mini header
// cannot express changes; in between, a 4-byte mini header carries only the timestamp delta
// from the last full header and the payload length. The receiver expands a mini header from
// the context of the last frame it *accepted*: parsing is pure, and the caller commits a
// frame with accept() only once it has authenticated it, so forged or corrupt datagrams can
// never disturb the context.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "proto/frame_tag.h"
#include "proto/media_header.h"
#include "proto/mini_header.h"
#include "proto/quality_report.h"
#include "proto/result.h"

namespace wzp::proto {

inline constexpr uint32_t kFullHeaderInterval = 5;
inline constexpr size_t kMaxMediaHeaderBytes = 1 + MediaHeader::kSize + QualityReport::kSize;

struct MediaFrame {
  MediaHeader header;  // for a mini frame, the header as expanded from context
  std::optional<QualityReport> report;
  bool mini = false;
  uint16_t mini_delta_ms = 0;             // a mini header's timestamp delta, as sent
  std::span<const uint8_t> header_bytes;  // tag through report: the AEAD associated data
  std::span<const uint8_t> payload;
};

// Sender side: chooses full or mini per frame and writes tag + header (+ report).
class MediaHeaderWriter {
 public:
  // Writes the header for a frame whose payload will be payload_len bytes; returns the
  // number of header bytes written (5, 13 or 17). `out` must hold kMaxMediaHeaderBytes.
  size_t write(const MediaHeader& header, const QualityReport* report, size_t payload_len,
               std::span<uint8_t> out);
  // The next frame goes out with a full header (after a rekey or a receiver resync request).
  void force_full() { have_last_ = false; }
  // Mini headers save 8 bytes a packet but a lost full header costs the minis after it, so
  // the sender turns them off while its peer reports loss.
  void set_mini_enabled(bool enabled) { mini_enabled_ = enabled; }

 private:
  bool can_use_mini(const MediaHeader& h, const QualityReport* report, size_t payload_len) const;

  bool have_last_ = false;
  bool mini_enabled_ = true;
  MediaHeader last_;
  uint32_t last_full_ts_ = 0;
  uint32_t frames_since_full_ = 0;
};

// Receiver side.
class MediaFrameReader {
 public:
  // Parses one datagram. `shift` moves a mini header's inferred sequence and symbol index
  // (normally last + 1) by that many frames, for a caller that failed to authenticate the
  // plain inference: forward when frames were lost in between, backward when reordered.
  // `previous` expands from the context before the latest full header instead: a mini frame
  // reordered behind the next run's full header still finds its run.
  // `by_cadence` takes the timestamp from the last frame's plus one codec frame per step
  // instead of from the delta: a mini whose run's full header was lost still expands (and,
  // once authenticated, tells where that full header was).
  Result<MediaFrame> parse(std::span<const uint8_t> datagram, int shift = 0, bool previous = false,
                           bool by_cadence = false) const;
  // Commits an authenticated frame as the context for later mini headers. Only newer frames
  // move the context: a reordered older one leaves it alone.
  void accept(const MediaFrame& frame);
  bool has_context() const { return have_context_; }
  void reset() { have_context_ = have_previous_ = false; }

 private:
  struct Context {
    MediaHeader last;
    uint32_t full_ts = 0;
  };
  bool have_context_ = false;
  bool have_previous_ = false;
  Context current_, previous_;
};

}  // namespace wzp::proto
