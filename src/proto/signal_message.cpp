#include "proto/signal_message.h"
#include "proto/json_text.h"

#include <concepts>
#include <limits>
#include <nlohmann/json.hpp>

#include "proto/hex.h"

namespace wzp::proto {
namespace {

using json = nlohmann::json;

template <class T>
concept HasFields = requires {
  T::fields();
};

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

// ---- encoding ----

void write_value(json& j, const std::string& v) { j = v; }
void write_value(json& j, bool v) { j = v; }
void write_value(json& j, double v) { j = v; }
void write_value(json& j, const Bytes& v) { j = to_hex(v); }
template <std::unsigned_integral U>
void write_value(json& j, U v) {
  j = static_cast<uint64_t>(v);
}
template <HasFields T>
void write_value(json& j, const T& v);
template <class T>
void write_value(json& j, const std::vector<T>& v) {
  j = json::array();
  for (const auto& item : v) write_value(j.emplace_back(), item);
}

template <HasFields T>
void write_fields(json& j, const T& v) {
  std::apply(
      [&](const auto&... f) {
        [[maybe_unused]] auto one = [&](const auto& desc) {
          const auto& member = v.*(desc.member);
          if constexpr (IsOptional<std::decay_t<decltype(member)>>::value) {
            if (member) write_value(j[desc.name], *member);
          } else {
            write_value(j[desc.name], member);
          }
        };
        (one(f), ...);
      },
      T::fields());
}

template <HasFields T>
void write_value(json& j, const T& v) {
  j = json::object();
  write_fields(j, v);
}

// ---- decoding: each reader returns false on a wrong JSON type or an out-of-range value ----

bool read_value(const json& j, std::string& out) {
  if (!j.is_string()) return false;
  out = j.get_ref<const std::string&>();
  return true;
}
bool read_value(const json& j, bool& out) {
  if (!j.is_boolean()) return false;
  out = j.get<bool>();
  return true;
}
bool read_value(const json& j, double& out) {
  if (!j.is_number()) return false;
  out = j.get<double>();
  return true;
}
bool read_value(const json& j, Bytes& out) {
  if (!j.is_string()) return false;
  auto bytes = from_hex(j.get_ref<const std::string&>());
  if (!bytes) return false;
  out = std::move(*bytes);
  return true;
}
template <std::unsigned_integral U>
bool read_value(const json& j, U& out) {
  if (!j.is_number_unsigned()) return false;  // negative or fractional numbers are refused
  const uint64_t v = j.get<uint64_t>();
  if (v > std::numeric_limits<U>::max()) return false;
  out = static_cast<U>(v);
  return true;
}
template <HasFields T>
bool read_value(const json& j, T& out);
template <class T>
bool read_value(const json& j, std::vector<T>& out) {
  if (!j.is_array()) return false;
  out.clear();
  out.reserve(j.size());
  for (const auto& item : j) {
    if (!read_value(item, out.emplace_back())) return false;
  }
  return true;
}

template <HasFields T>
Status read_fields(const json& j, T& out) {
  Status status = ok_status();
  std::apply(
      [&](const auto&... f) {
        [[maybe_unused]] auto one = [&](const auto& desc) {
          if (!status.ok()) return;
          auto& member = out.*(desc.member);
          const auto it = j.find(desc.name);
          const bool absent = it == j.end() || it->is_null();
          if constexpr (IsOptional<std::decay_t<decltype(member)>>::value) {
            if (absent) {
              member.reset();
            } else if (!read_value(*it, member.emplace())) {
              status = Error{Errc::kBadField, "wrong type or range for field", desc.name};
            }
          } else if (absent) {
            status = Error{Errc::kMissingField, "missing field", desc.name};
          } else if (!read_value(*it, member)) {
            status = Error{Errc::kBadField, "wrong type or range for field", desc.name};
          }
        };
        (one(f), ...);
      },
      T::fields());
  return status;
}

template <HasFields T>
bool read_value(const json& j, T& out) {
  return j.is_object() && read_fields(j, out).ok();
}

template <size_t I = 0>
Result<SignalMessage> decode_as(std::string_view type, const json& j) {
  if constexpr (I == std::variant_size_v<SignalMessage>) {
    return Error{Errc::kUnknownType, "unknown signal type", std::string(type.substr(0, 64))};
  } else {
    using M = std::variant_alternative_t<I, SignalMessage>;
    if (type != M::kType) return decode_as<I + 1>(type, j);
    M msg;
    if (auto status = read_fields(j, msg); !status) return status.error();
    return SignalMessage(std::move(msg));
  }
}

}  // namespace

std::string_view signal_type(const SignalMessage& msg) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kType; }, msg);
}

std::string encode_signal(const SignalMessage& msg) {
  json j = json::object();
  j["type"] = std::string(signal_type(msg));
  std::visit([&](const auto& m) { write_fields(j, m); }, msg);
  return json_text(j);
}

Result<SignalMessage> decode_signal(std::string_view json_text) {
  const json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Error{Errc::kBadJson, "signal payload is not a JSON object"};
  }
  const auto type = j.find("type");
  if (type == j.end()) return Error{Errc::kMissingField, "missing field", "type"};
  if (!type->is_string()) return Error{Errc::kBadField, "wrong type for field", "type"};
  return decode_as(type->get_ref<const std::string&>(), j);
}

}  // namespace wzp::proto
