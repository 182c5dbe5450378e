// An independent reader for the frame fuzzer to compare msgpack_in with:
// msgpack-c's own unpacker (its object tree, its limits) and a plain
// conversion of the tree to JSON that refuses what Keel refuses (keys
// that are not strings, text that is not UTF-8, bin, ext). The two must
// accept the same bodies and read the same values from them.
#pragma once

#include <optional>
#include <string_view>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "runtime/base/utf8.hpp"

namespace keel::fuzz {

namespace detail {
inline bool ref_convert(const msgpack::object& o, nlohmann::json& out) {
  switch (o.type) {
    case msgpack::type::NIL: out = nullptr; return true;
    case msgpack::type::BOOLEAN: out = o.via.boolean; return true;
    case msgpack::type::POSITIVE_INTEGER: out = o.via.u64; return true;
    case msgpack::type::NEGATIVE_INTEGER: out = o.via.i64; return true;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: out = o.via.f64; return true;
    case msgpack::type::STR:
      if (!utf8::valid(std::string_view(o.via.str.ptr, o.via.str.size))) return false;
      out = std::string(o.via.str.ptr, o.via.str.size);
      return true;
    case msgpack::type::ARRAY:
      out = nlohmann::json::array();
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        nlohmann::json e;
        if (!ref_convert(o.via.array.ptr[i], e)) return false;
        out.push_back(std::move(e));
      }
      return true;
    case msgpack::type::MAP:
      out = nlohmann::json::object();
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) return false;
        std::string key(kv.key.via.str.ptr, kv.key.via.str.size);
        if (!utf8::valid(key)) return false;
        nlohmann::json v;
        if (!ref_convert(kv.val, v)) return false;
        out[key] = std::move(v);  // a repeated key keeps its last value
      }
      return true;
    default: return false;  // bin, ext
  }
}
}  // namespace detail

// The value `body` holds when it is exactly one acceptable value within the
// limits; nullopt when it is not.
inline std::optional<nlohmann::json> reference_read(std::string_view body, std::size_t max_depth,
                                                     std::size_t max_container) {
  try {
    msgpack::zone zone;
    std::size_t off = 0;
    msgpack::unpack_limit ul(max_container, max_container, body.size() + 1, body.size() + 1, body.size() + 1,
                             max_depth);
    auto obj = msgpack::unpack(zone, body.data(), body.size(), off, nullptr, nullptr, ul);
    if (off != body.size()) return std::nullopt;
    nlohmann::json out;
    if (!detail::ref_convert(obj, out)) return std::nullopt;
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace keel::fuzz
