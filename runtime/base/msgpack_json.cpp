// See msgpack_json.hpp: the writer (templated on where the bytes go) and
// the stored-value reader.
#include "runtime/base/msgpack_json.hpp"

#include <cstring>
#include <string>

namespace keel {

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
