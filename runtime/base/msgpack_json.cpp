// See msgpack_json.hpp: the writer (templated on where the bytes go), the
// frame reader over msgpack-c objects, the stored-value reader.
#include "runtime/base/msgpack_json.hpp"

#include <cstring>
#include <string>
#include <vector>

#include "runtime/base/utf8.hpp"

namespace keel {

// --- reading frames -----------------------------------------------------------

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

// --- writing ----------------------------------------------------------------
//
// One writer, two sinks, each with a put() overload: a std::string (stored
// values, one append of a small stack buffer per header or number, then the
// body) and a msgpack-c packer (frames; pack_str_body appends raw bytes,
// which is all this needs).
// msgpack-c's own pack_double would narrow whole-valued doubles to integers,
// so nothing here goes through it.

namespace {

void put(std::string& o, const char* p, std::size_t n) { o.append(p, n); }
void put(msgpack::packer<msgpack::sbuffer>& pk, const char* p, std::size_t n) {
  pk.pack_str_body(p, static_cast<std::uint32_t>(n));
}

// `tag` followed by the low `bytes` bytes of v, big-endian.
template <class Sink>
void tagged(Sink& out, unsigned char tag, std::uint64_t v, int bytes) {
  char buf[9];
  buf[0] = static_cast<char>(tag);
  for (int i = 0; i < bytes; ++i) buf[1 + i] = static_cast<char>(v >> (8 * (bytes - 1 - i)));
  put(out, buf, static_cast<std::size_t>(1 + bytes));
}

template <class Sink>
void one_byte(Sink& out, unsigned char b) {
  char c = static_cast<char>(b);
  put(out, &c, 1);
}

// A string, array or map header: the fix form up to `fix_max`, then the
// 8-bit form (strings only: `tag8` is 0 for arrays and maps), 16, 32 bits.
template <class Sink>
void header(Sink& out, std::size_t n, unsigned char fix, std::size_t fix_max, unsigned char tag8, unsigned char tag16,
            unsigned char tag32) {
  if (n <= fix_max) one_byte(out, static_cast<unsigned char>(fix | n));
  else if (tag8 && n < 256) tagged(out, tag8, n, 1);
  else if (n < 65536) tagged(out, tag16, n, 2);
  else tagged(out, tag32, n, 4);
}

template <class Sink>
void write_uint(Sink& out, std::uint64_t v) {
  if (v < 128) one_byte(out, static_cast<unsigned char>(v));
  else if (v < 256) tagged(out, 0xcc, v, 1);
  else if (v < 65536) tagged(out, 0xcd, v, 2);
  else if (v <= 0xffffffffULL) tagged(out, 0xce, v, 4);
  else tagged(out, 0xcf, v, 8);
}

template <class Sink>
void write_int(Sink& out, std::int64_t v) {
  if (v >= 0) return write_uint(out, static_cast<std::uint64_t>(v));
  auto u = static_cast<std::uint64_t>(v);
  if (v >= -32) one_byte(out, static_cast<unsigned char>(v));
  else if (v >= -128) tagged(out, 0xd0, u, 1);
  else if (v >= -32768) tagged(out, 0xd1, u, 2);
  else if (v >= -2147483648LL) tagged(out, 0xd2, u, 4);
  else tagged(out, 0xd3, u, 8);
}

template <class Sink>
void write_array_header(Sink& out, std::size_t n) {
  header(out, n, 0x90, 15, 0, 0xdc, 0xdd);
}

template <class Sink>
void write_map_header(Sink& out, std::size_t n) {
  header(out, n, 0x80, 15, 0, 0xde, 0xdf);
}

template <class Sink>
void write_str(Sink& out, std::string_view s) {
  header(out, s.size(), 0xa0, 31, 0xd9, 0xda, 0xdb);
  put(out, s.data(), s.size());
}

template <class Sink>
void write_bin(Sink& out, std::string_view bytes) {
  if (bytes.size() < 256) tagged(out, 0xc4, bytes.size(), 1);  // bin has no fix form
  else if (bytes.size() < 65536) tagged(out, 0xc5, bytes.size(), 2);
  else tagged(out, 0xc6, bytes.size(), 4);
  put(out, bytes.data(), bytes.size());
}

template <class Sink>
void write_json(Sink& out, const nlohmann::json& j) {
  using t = nlohmann::json::value_t;
  switch (j.type()) {
    case t::null:
    case t::discarded: one_byte(out, 0xc0); break;
    case t::boolean: one_byte(out, j.get_ref<const nlohmann::json::boolean_t&>() ? 0xc3 : 0xc2); break;
    case t::number_integer: write_int(out, j.get_ref<const nlohmann::json::number_integer_t&>()); break;
    case t::number_unsigned: write_uint(out, j.get_ref<const nlohmann::json::number_unsigned_t&>()); break;
    case t::number_float: {
      std::uint64_t bits;
      double d = j.get_ref<const nlohmann::json::number_float_t&>();
      std::memcpy(&bits, &d, sizeof bits);
      tagged(out, 0xcb, bits, 8);
      break;
    }
    case t::string: write_str(out, j.get_ref<const std::string&>()); break;
    case t::array:
      write_array_header(out, j.size());
      for (const auto& e : j.get_ref<const nlohmann::json::array_t&>()) write_json(out, e);
      break;
    case t::object:
      write_map_header(out, j.size());
      for (const auto& [k, v] : j.get_ref<const nlohmann::json::object_t&>()) {
        write_str(out, k);
        write_json(out, v);
      }
      break;
    case t::binary: {
      const auto& b = j.get_binary();
      write_bin(out, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
      break;
    }
  }
}

}  // namespace

std::string json_to_msgpack(const nlohmann::json& j) {
  std::string o;
  msgpack_out::json(o, j);
  return o;
}

void pack_json(msgpack::packer<msgpack::sbuffer>& pk, const nlohmann::json& j) { write_json(pk, j); }

namespace msgpack_out {
void uint(std::string& o, std::uint64_t v) { write_uint(o, v); }
void int64(std::string& o, std::int64_t v) { write_int(o, v); }
void str(std::string& o, std::string_view s) { write_str(o, s); }
void bin(std::string& o, std::string_view bytes) { write_bin(o, bytes); }
void array_header(std::string& o, std::size_t n) { write_array_header(o, n); }
void map_header(std::string& o, std::size_t n) { write_map_header(o, n); }
void boolean(std::string& o, bool v) { one_byte(o, v ? 0xc3 : 0xc2); }
void json(std::string& o, const nlohmann::json& j) { write_json(o, j); }
}  // namespace msgpack_out

// --- reading stored values ---------------------------------------------------

result<nlohmann::json> json_from_msgpack(std::string_view bytes) {
  try {
    return nlohmann::json::from_msgpack(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    return error{errc::io, e.what()};
  }
}

}  // namespace keel
