#include "proto/media_frame.h"

#include <cassert>
#include <limits>

#include "proto/bytes.h"
#include "proto/seq.h"

namespace wzp::proto {

bool MediaHeaderWriter::can_use_mini(const MediaHeader& h, const QualityReport* report,
                                     size_t payload_len) const {
  if (!mini_enabled_ || !have_last_ || report != nullptr || h.has_quality_report) return false;
  if (frames_since_full_ + 1 >= kFullHeaderInterval) return false;
  if (payload_len > std::numeric_limits<uint16_t>::max()) return false;
  // Everything but the timestamp must follow from the previous frame.
  if (h.seq != static_cast<uint16_t>(last_.seq + 1)) return false;
  if (h.fec_symbol_idx != static_cast<uint8_t>(last_.fec_symbol_idx + 1)) return false;
  if (h.is_repair != last_.is_repair || h.codec != last_.codec ||
      h.fec_ratio_code != last_.fec_ratio_code || h.fec_block_id != last_.fec_block_id ||
      h.reserved != last_.reserved || h.csrc_count != last_.csrc_count) {
    return false;
  }
  const uint32_t delta = h.timestamp_ms - last_full_ts_;
  return h.timestamp_ms >= last_full_ts_ && delta <= std::numeric_limits<uint16_t>::max();
}

size_t MediaHeaderWriter::write(const MediaHeader& header, const QualityReport* report,
                                size_t payload_len, std::span<uint8_t> out) {
  assert(out.size() >= kMaxMediaHeaderBytes);
  if (can_use_mini(header, report, payload_len)) {
    out[0] = static_cast<uint8_t>(FrameTag::kMini);
    MiniHeader mini{static_cast<uint16_t>(header.timestamp_ms - last_full_ts_),
                    static_cast<uint16_t>(payload_len)};
    mini.write(out.subspan<1, MiniHeader::kSize>());
    last_ = header;
    ++frames_since_full_;
    return 1 + MiniHeader::kSize;
  }
  MediaHeader h = header;
  h.has_quality_report = report != nullptr;
  out[0] = static_cast<uint8_t>(FrameTag::kFull);
  h.write(out.subspan<1, MediaHeader::kSize>());
  size_t n = 1 + MediaHeader::kSize;
  if (report != nullptr) {
    report->write(out.subspan(n).first<QualityReport::kSize>());
    n += QualityReport::kSize;
  }
  have_last_ = true;
  last_ = h;
  last_full_ts_ = h.timestamp_ms;
  frames_since_full_ = 0;
  return n;
}

Result<MediaFrame> MediaFrameReader::parse(std::span<const uint8_t> datagram, int shift,
                                           bool previous, bool by_cadence) const {
  if (datagram.empty()) return Error{Errc::kTruncated, "empty datagram"};
  const auto body = datagram.subspan(1);
  MediaFrame f;
  switch (static_cast<FrameTag>(datagram[0])) {
    case FrameTag::kFull: {
      auto h = MediaHeader::parse(body);
      if (!h) return h.error();
      f.header = *h;
      size_t n = 1 + MediaHeader::kSize;
      if (f.header.has_quality_report) {
        auto r = QualityReport::parse(datagram.subspan(n));
        if (!r) return r.error();
        f.report = *r;
        n += QualityReport::kSize;
      }
      f.header_bytes = datagram.first(n);
      f.payload = datagram.subspan(n);
      return f;
    }
    case FrameTag::kMini: {
      auto m = MiniHeader::parse(body);
      if (!m) return m.error();
      if (!have_context_ || (previous && !have_previous_)) {
        return Error{Errc::kNoContext, "mini header before any full header"};
      }
      const Context& ctx = previous ? previous_ : current_;
      const size_t n = 1 + MiniHeader::kSize;
      if (datagram.size() - n != m->payload_len) {
        return Error{Errc::kLengthMismatch, "mini header payload length"};
      }
      const auto step = static_cast<uint16_t>(1 + shift);
      f.mini = true;
      f.header = ctx.last;
      f.header.has_quality_report = false;
      f.header.seq = static_cast<uint16_t>(ctx.last.seq + step);
      f.header.fec_symbol_idx = static_cast<uint8_t>(ctx.last.fec_symbol_idx + step);
      f.header.timestamp_ms =
          by_cadence ? ctx.last.timestamp_ms + step * codec_info(ctx.last.codec).frame_ms
                     : ctx.full_ts + m->ts_delta_ms;
      f.mini_delta_ms = m->ts_delta_ms;
      f.header_bytes = datagram.first(n);
      f.payload = datagram.subspan(n);
      return f;
    }
    case FrameTag::kTrunk:
      return Error{Errc::kUnknownFrame, "trunk frame where a media frame was expected"};
    case FrameTag::kProbe:
    case FrameTag::kProbeReply:
      return Error{Errc::kUnknownFrame, "relay probe where a media frame was expected"};
    case FrameTag::kSignal:
      return Error{Errc::kUnknownFrame, "signalling where a media frame was expected"};
  }
  return Error{Errc::kUnknownFrame, "unknown datagram tag"};
}

void MediaFrameReader::accept(const MediaFrame& frame) {
  if (have_context_ && seq_diff(current_.last.seq, frame.header.seq) <= 0) {
    // Older than the current context: it can still extend the previous run.
    if (have_previous_ && frame.mini && seq_diff(previous_.last.seq, frame.header.seq) > 0) {
      previous_.last = frame.header;
    }
    return;
  }
  if (!frame.mini && have_context_) {
    previous_ = current_;
    have_previous_ = true;
  }
  current_.last = frame.header;
  // A mini's delta places its run's full header, even one that never arrived.
  current_.full_ts = frame.header.timestamp_ms - (frame.mini ? frame.mini_delta_ms : 0);
  have_context_ = true;
}

}  // namespace wzp::proto
