#include "runtime/msgpack_json.hpp"

#include <string>

namespace keel {

namespace {

// Returns an empty string on success, else what is wrong (with a path).
std::string convert(const msgpack::object& o, nlohmann::json& out, const std::string& path) {
  switch (o.type) {
    case msgpack::type::NIL: out = nullptr; return {};
    case msgpack::type::BOOLEAN: out = o.via.boolean; return {};
    case msgpack::type::POSITIVE_INTEGER: out = o.via.u64; return {};
    case msgpack::type::NEGATIVE_INTEGER: out = o.via.i64; return {};
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: out = o.via.f64; return {};
    case msgpack::type::STR: out = std::string(o.via.str.ptr, o.via.str.size); return {};
    case msgpack::type::ARRAY: {
      out = nlohmann::json::array();
      auto& arr = out.get_ref<nlohmann::json::array_t&>();
      arr.resize(o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        auto why = convert(o.via.array.ptr[i], arr[i], path + "[" + std::to_string(i) + "]");
        if (!why.empty()) return why;
      }
      return {};
    }
    case msgpack::type::MAP: {
      out = nlohmann::json::object();
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) return path + ": map key is not a string";
        std::string key(kv.key.via.str.ptr, kv.key.via.str.size);
        auto why = convert(kv.val, out[key], path + "." + key);
        if (!why.empty()) return why;
      }
      return {};
    }
    case msgpack::type::BIN: return path + ": binary values are not supported";
    case msgpack::type::EXT: return path + ": ext values are not supported";
  }
  return path + ": unknown msgpack type";
}

}  // namespace

result<nlohmann::json> msgpack_to_json(const msgpack::object& o) {
  nlohmann::json out;
  auto why = convert(o, out, "body");
  if (!why.empty()) return error{errc::bad_frame, why};
  return out;
}

void pack_json(msgpack::packer<msgpack::sbuffer>& pk, const nlohmann::json& j) {
  using t = nlohmann::json::value_t;
  switch (j.type()) {
    case t::null:
    case t::discarded: pk.pack_nil(); break;
    case t::boolean: j.get<bool>() ? pk.pack_true() : pk.pack_false(); break;
    case t::number_integer: pk.pack(j.get<std::int64_t>()); break;
    case t::number_unsigned: pk.pack(j.get<std::uint64_t>()); break;
    case t::number_float: pk.pack(j.get<double>()); break;
    case t::string: {
      const auto& s = j.get_ref<const std::string&>();
      pk.pack_str(static_cast<std::uint32_t>(s.size()));
      pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
      break;
    }
    case t::array:
      pk.pack_array(static_cast<std::uint32_t>(j.size()));
      for (const auto& e : j) pack_json(pk, e);
      break;
    case t::object:
      pk.pack_map(static_cast<std::uint32_t>(j.size()));
      for (auto it = j.begin(); it != j.end(); ++it) {
        pk.pack_str(static_cast<std::uint32_t>(it.key().size()));
        pk.pack_str_body(it.key().data(), static_cast<std::uint32_t>(it.key().size()));
        pack_json(pk, it.value());
      }
      break;
    case t::binary: {
      const auto& b = j.get_binary();
      pk.pack_bin(static_cast<std::uint32_t>(b.size()));
      pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<std::uint32_t>(b.size()));
      break;
    }
  }
}

}  // namespace keel
