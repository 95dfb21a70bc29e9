// RESP2, the Redis wire protocol: commands out as arrays of bulk strings, replies in as simple
// strings, errors, integers, bulk strings (or null) and arrays of those. The relay's cluster
// directory speaks it (relay/directory.h); here only bytes, no socket.
//
// The parser is incremental (bytes arrive as TCP gives them) and bounded: a bulk string, an
// array, the nesting and the bytes buffered have limits, and a reply past one of them, or one
// that is not RESP, leaves the parser failed for good (the connection is to be dropped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wzp::proto {

struct RespValue {
  enum class Type { kSimple, kError, kInteger, kBulk, kNull, kArray };
  Type type = Type::kNull;
  std::string text;  // kSimple, kError, kBulk
  int64_t integer = 0;
  std::vector<RespValue> items;  // kArray
  bool is_error() const { return type == Type::kError; }
};

// One command as RESP: *N then $len/arg for each argument.
std::string resp_command(std::span<const std::string> args);
std::string resp_command(std::initializer_list<std::string_view> args);

struct RespLimits {
  size_t max_bulk = 1 << 20;      // bytes in one bulk string
  size_t max_items = 1 << 16;     // elements of one array
  size_t max_depth = 4;           // arrays within arrays
  size_t max_buffered = 4 << 20;  // bytes waiting for the end of a reply
  size_t max_line = 4096;         // a simple string, error or length line
};

class RespParser {
 public:
  explicit RespParser(RespLimits limits = {}) : limits_(limits) {}
  // Takes bytes as they came. False once the stream is broken (then error() says how).
  bool feed(std::span<const uint8_t> bytes);
  bool feed(std::string_view bytes) {
    return feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  }
  // The next whole reply, if one has arrived.
  std::optional<RespValue> next();
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  enum class Step { kDone, kMore, kBad };
  Step parse(size_t& at, RespValue& out, size_t depth);
  Step line(size_t& at, std::string_view& out);
  Step length(size_t& at, int64_t& out);

  RespLimits limits_;
  std::string buf_;
  size_t pos_ = 0;  // where the next reply starts
  std::string error_;
};

}  // namespace wzp::proto
