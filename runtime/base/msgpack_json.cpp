#include "runtime/base/msgpack_json.hpp"

#include "runtime/base/utf8.hpp"

#include <string>
#include <vector>

namespace keel {

namespace {

// JSON text must be UTF-8; a string that is not would make every later
// dump() of it throw, so it is refused at the edge.
bool valid_utf8(const char* p, std::size_t n) { return utf8::valid(std::string_view(p, n)); }

// Converts o into out. On failure returns the reason and leaves the path to
// the offending value in `where` (innermost segment last, built while
// unwinding): paths are only built when something is wrong, so a hostile
// body with huge keys cannot make conversion quadratic.
using claim_fn = std::function<bool(std::string_view, const msgpack::object&)>;

std::string convert(const msgpack::object& o, nlohmann::json& out, std::vector<std::string>& where,
                    const claim_fn* claim = nullptr) {
  switch (o.type) {
    case msgpack::type::NIL: out = nullptr; return {};
    case msgpack::type::BOOLEAN: out = o.via.boolean; return {};
    case msgpack::type::POSITIVE_INTEGER: out = o.via.u64; return {};
    case msgpack::type::NEGATIVE_INTEGER: out = o.via.i64; return {};
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: out = o.via.f64; return {};
    case msgpack::type::STR:
      if (!valid_utf8(o.via.str.ptr, o.via.str.size)) return "string is not valid UTF-8";
      out = std::string(o.via.str.ptr, o.via.str.size);
      return {};
    case msgpack::type::ARRAY: {
      out = nlohmann::json::array();
      auto& arr = out.get_ref<nlohmann::json::array_t&>();
      arr.resize(o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        auto why = convert(o.via.array.ptr[i], arr[i], where);
        if (!why.empty()) {
          where.push_back("[" + std::to_string(i) + "]");
          return why;
        }
      }
      return {};
    }
    case msgpack::type::MAP: {
      out = nlohmann::json::object();
      auto& obj = out.get_ref<nlohmann::json::object_t&>();
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) return "map key is not a string";
        if (!valid_utf8(kv.key.via.str.ptr, kv.key.via.str.size)) return "map key is not valid UTF-8";
        if (claim && (*claim)(std::string_view(kv.key.via.str.ptr, kv.key.via.str.size), kv.val)) continue;
        // A Keel peer writes its keys sorted (its maps are std::map), so the
        // hint is right and no key is compared on the way in. A repeated
        // key: the last value wins.
        auto it = obj.emplace_hint(obj.end(), std::string(kv.key.via.str.ptr, kv.key.via.str.size), nullptr);
        it->second = nullptr;
        auto why = convert(kv.val, it->second, where);
        if (!why.empty()) {
          const auto& key = it->first;
          where.push_back("." + (key.size() > 64 ? key.substr(0, 61) + "..." : key));
          return why;
        }
      }
      return {};
    }
    case msgpack::type::BIN: return "binary values are not supported";
    case msgpack::type::EXT: return "ext values are not supported";
  }
  return "unknown msgpack type";
}

}  // namespace

namespace {
result<nlohmann::json> to_json(const msgpack::object& o, const claim_fn* claim) {
  nlohmann::json out;
  std::vector<std::string> where;
  auto why = convert(o, out, where, claim);
  if (!why.empty()) {
    std::string path = "body";
    for (auto it = where.rbegin(); it != where.rend(); ++it) path += *it;
    return error{errc::bad_frame, path + ": " + why};
  }
  return out;
}
}  // namespace

result<nlohmann::json> msgpack_to_json(const msgpack::object& o) { return to_json(o, nullptr); }

result<nlohmann::json> msgpack_map_to_json(const msgpack::object& map, const claim_fn& claim) {
  if (map.type != msgpack::type::MAP) return error{errc::bad_frame, "body must be a msgpack map"};
  return to_json(map, &claim);
}

namespace {
// msgpack-c's pack_double narrows whole-valued doubles to integers (2.0
// would arrive as 2, and JSON would then say integer), so write the float64
// encoding ourselves: 0xcb followed by the IEEE 754 bits, big-endian.
// pack_str_body appends raw bytes, which is all this needs.
void pack_float64(msgpack::packer<msgpack::sbuffer>& pk, double d) {
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  char out[9];
  out[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) out[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  pk.pack_str_body(out, sizeof out);
}
}  // namespace

void pack_json(msgpack::packer<msgpack::sbuffer>& pk, const nlohmann::json& j) {
  using t = nlohmann::json::value_t;
  switch (j.type()) {
    case t::null:
    case t::discarded: pk.pack_nil(); break;
    case t::boolean: j.get<bool>() ? pk.pack_true() : pk.pack_false(); break;
    case t::number_integer: pk.pack(j.get<std::int64_t>()); break;
    case t::number_unsigned: pk.pack(j.get<std::uint64_t>()); break;
    case t::number_float: pack_float64(pk, j.get<double>()); break;
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
