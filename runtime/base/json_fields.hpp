// Reading fields of JSON that came from a peer. nlohmann::json::value()
// throws when a key is present with another type, and one throw in an actor
// is a crash; these never throw: a missing or mistyped field reads as the
// default (callers that must tell the difference check with has_type()).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace keel {

// The member `key` of `j` in place, or a null that lives on when `j` is not
// an object or has no such member: json::value() would copy the member out.
inline const nlohmann::json& member_of(const nlohmann::json& j, const char* key) {
  static const nlohmann::json none;
  if (!j.is_object()) return none;
  auto it = j.find(key);
  return it == j.end() ? none : *it;
}

inline std::string text_field(const nlohmann::json& j, const char* key, std::string dflt = {}) {
  if (!j.is_object()) return dflt;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : dflt;
}

inline bool bool_field(const nlohmann::json& j, const char* key, bool dflt = false) {
  if (!j.is_object()) return dflt;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : dflt;
}

// Integers only (no floats: 1e300 must not reach an integer conversion),
// clamped to [lo, hi].
inline std::int64_t int_field(const nlohmann::json& j, const char* key, std::int64_t dflt, std::int64_t lo, std::int64_t hi) {
  if (!j.is_object()) return dflt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return dflt;
  if (it->is_number_unsigned()) {
    auto u = it->get<std::uint64_t>();
    return u > static_cast<std::uint64_t>(hi) ? hi : std::max<std::int64_t>(lo, static_cast<std::int64_t>(u));
  }
  auto v = it->get<std::int64_t>();
  return v < lo ? lo : v > hi ? hi : v;
}

inline std::uint64_t uint_field(const nlohmann::json& j, const char* key, std::uint64_t dflt = 0) {
  if (!j.is_object()) return dflt;
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : dflt;
}

inline double number_field(const nlohmann::json& j, const char* key, double dflt = 0) {
  if (!j.is_object()) return dflt;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : dflt;
}

}  // namespace keel
