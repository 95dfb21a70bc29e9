// Result<T>: the outcome of parsing untrusted input. Parsers never throw on bad input and
// never read past their buffer; they return an Error naming what was wrong instead.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace wzp::proto {

enum class Errc : uint8_t {
  kTruncated,       // fewer bytes than the format needs
  kBadVersion,      // a version field we do not speak
  kBadValue,        // a field outside its allowed range
  kUnknownCodec,    // codec id not in the table
  kUnknownFrame,    // datagram tag not in the table
  kTooLarge,        // over a configured bound (frame size, entry count)
  kLengthMismatch,  // a length field disagrees with the bytes present
  kNoContext,       // a mini header arrived before any full header
  kBadJson,         // signalling payload is not a JSON object
  kUnknownType,     // signalling "type" not in the catalogue
  kMissingField,    // a required signalling field is absent
  kBadField,        // a signalling field has the wrong JSON type or an out-of-range value
};

std::string_view errc_name(Errc code);

// `what` is always a string literal, so building an Error on the packet path allocates
// nothing; `field` is filled only by the signalling decoder, where names are short.
struct Error {
  Errc code;
  std::string_view what;
  std::string field = {};

  std::string message() const;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

using Status = Result<std::monostate>;
inline Status ok_status() { return Status(std::monostate{}); }

}  // namespace wzp::proto
