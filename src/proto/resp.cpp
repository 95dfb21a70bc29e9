#include "proto/resp.h"

#include <charconv>

namespace wzp::proto {
namespace {

void append_bulk(std::string& out, std::string_view arg) {
  out += '$';
  out += std::to_string(arg.size());
  out += "\r\n";
  out += arg;
  out += "\r\n";
}

template <class Args>
std::string command_of(const Args& args) {
  std::string out(1, '*');
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& a : args) append_bulk(out, a);
  return out;
}

}  // namespace

std::string resp_command(std::span<const std::string> args) { return command_of(args); }
std::string resp_command(std::initializer_list<std::string_view> args) { return command_of(args); }

bool RespParser::feed(std::span<const uint8_t> bytes) {
  if (failed()) return false;
  if (buffered() + bytes.size() > limits_.max_buffered) {
    error_ = "reply larger than " + std::to_string(limits_.max_buffered) + " bytes";
    return false;
  }
  if (pos_ > 0 && pos_ == buf_.size()) buf_.clear(), pos_ = 0;
  buf_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return true;
}

std::optional<RespValue> RespParser::next() {
  if (failed() || pos_ >= buf_.size()) return std::nullopt;
  size_t at = pos_;
  RespValue v;
  switch (parse(at, v, 0)) {
    case Step::kMore:
      return std::nullopt;
    case Step::kBad:
      return std::nullopt;
    case Step::kDone:
      break;
  }
  pos_ = at;
  // What was consumed goes once it is most of the buffer: no quadratic shuffling.
  if (pos_ > buf_.size() / 2) buf_.erase(0, pos_), pos_ = 0;
  return v;
}

RespParser::Step RespParser::line(size_t& at, std::string_view& out) {
  const size_t end = buf_.find("\r\n", at);
  if (end == std::string::npos) {
    if (buf_.size() - at > limits_.max_line) {
      error_ = "a line longer than " + std::to_string(limits_.max_line) + " bytes";
      return Step::kBad;
    }
    return Step::kMore;
  }
  if (end - at > limits_.max_line) {
    error_ = "a line longer than " + std::to_string(limits_.max_line) + " bytes";
    return Step::kBad;
  }
  out = std::string_view(buf_).substr(at, end - at);
  at = end + 2;
  return Step::kDone;
}

RespParser::Step RespParser::length(size_t& at, int64_t& out) {
  std::string_view text;
  if (const Step s = line(at, text); s != Step::kDone) return s;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) {
    error_ = "not a number: '" + std::string(text.substr(0, 32)) + "'";
    return Step::kBad;
  }
  return Step::kDone;
}

RespParser::Step RespParser::parse(size_t& at, RespValue& out, size_t depth) {
  if (at >= buf_.size()) return Step::kMore;
  const char kind = buf_[at++];
  switch (kind) {
    case '+':
    case '-': {
      std::string_view text;
      if (const Step s = line(at, text); s != Step::kDone) return s;
      out.type = kind == '+' ? RespValue::Type::kSimple : RespValue::Type::kError;
      out.text = text;
      return Step::kDone;
    }
    case ':': {
      out.type = RespValue::Type::kInteger;
      return length(at, out.integer);
    }
    case '$': {
      int64_t n = 0;
      if (const Step s = length(at, n); s != Step::kDone) return s;
      if (n == -1) {
        out.type = RespValue::Type::kNull;
        return Step::kDone;
      }
      if (n < 0 || static_cast<uint64_t>(n) > limits_.max_bulk) {
        error_ = "a bulk string of " + std::to_string(n) + " bytes";
        return Step::kBad;
      }
      const size_t len = static_cast<size_t>(n);
      if (buf_.size() - at < len + 2) return Step::kMore;
      if (buf_.compare(at + len, 2, "\r\n") != 0) {
        error_ = "a bulk string not ended by CRLF";
        return Step::kBad;
      }
      out.type = RespValue::Type::kBulk;
      out.text = buf_.substr(at, len);
      at += len + 2;
      return Step::kDone;
    }
    case '*': {
      int64_t n = 0;
      if (const Step s = length(at, n); s != Step::kDone) return s;
      if (n == -1) {
        out.type = RespValue::Type::kNull;
        return Step::kDone;
      }
      if (n < 0 || static_cast<uint64_t>(n) > limits_.max_items) {
        error_ = "an array of " + std::to_string(n) + " elements";
        return Step::kBad;
      }
      if (depth >= limits_.max_depth) {
        error_ = "arrays nested deeper than " + std::to_string(limits_.max_depth);
        return Step::kBad;
      }
      out.type = RespValue::Type::kArray;
      out.items.clear();
      for (int64_t i = 0; i < n; ++i) {
        RespValue item;
        if (const Step s = parse(at, item, depth + 1); s != Step::kDone) return s;
        out.items.push_back(std::move(item));
      }
      return Step::kDone;
    }
    default:
      error_ = "not a RESP reply (type byte " + std::to_string(static_cast<uint8_t>(kind)) + ")";
      return Step::kBad;
  }
}

}  // namespace wzp::proto
