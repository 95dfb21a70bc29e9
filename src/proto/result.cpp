#include "proto/result.h"

namespace wzp::proto {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::kTruncated:
      return "truncated";
    case Errc::kBadVersion:
      return "bad_version";
    case Errc::kBadValue:
      return "bad_value";
    case Errc::kUnknownCodec:
      return "unknown_codec";
    case Errc::kUnknownFrame:
      return "unknown_frame";
    case Errc::kTooLarge:
      return "too_large";
    case Errc::kLengthMismatch:
      return "length_mismatch";
    case Errc::kNoContext:
      return "no_context";
    case Errc::kBadJson:
      return "bad_json";
    case Errc::kUnknownType:
      return "unknown_type";
    case Errc::kMissingField:
      return "missing_field";
    case Errc::kBadField:
      return "bad_field";
  }
  return "unknown";
}

std::string Error::message() const {
  std::string out(errc_name(code));
  out += ": ";
  out += what;
  if (!field.empty()) {
    out += " '";
    out += field;
    out += "'";
  }
  return out;
}

}  // namespace wzp::proto
