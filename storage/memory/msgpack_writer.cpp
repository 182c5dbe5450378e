// See msgpack_writer.hpp. Each value is written as one append of a small
// stack buffer (type byte and big-endian length or number), then its body.
#include "storage/memory/msgpack_writer.hpp"

#include <cstring>

namespace keel::memory::msgpack_out {
namespace {

// `tag` followed by the low `bytes` bytes of v, big-endian.
void tagged(std::string& o, unsigned char tag, std::uint64_t v, int bytes) {
  char buf[9];
  buf[0] = static_cast<char>(tag);
  for (int i = 0; i < bytes; ++i) buf[1 + i] = static_cast<char>(v >> (8 * (bytes - 1 - i)));
  o.append(buf, static_cast<std::size_t>(1 + bytes));
}

// A string, array or map header: the fix form up to `fix_max`, then the
// 8-bit form (strings only: `tag8` is 0 for arrays and maps), 16, 32 bits.
void header(std::string& o, std::size_t n, unsigned char fix, std::size_t fix_max, unsigned char tag8,
            unsigned char tag16, unsigned char tag32) {
  if (n <= fix_max) o.push_back(static_cast<char>(fix | n));
  else if (tag8 && n < 256) tagged(o, tag8, n, 1);
  else if (n < 65536) tagged(o, tag16, n, 2);
  else tagged(o, tag32, n, 4);
}

}  // namespace

void uint(std::string& o, std::uint64_t v) {
  if (v < 128) o.push_back(static_cast<char>(v));
  else if (v < 256) tagged(o, 0xcc, v, 1);
  else if (v < 65536) tagged(o, 0xcd, v, 2);
  else if (v <= 0xffffffffULL) tagged(o, 0xce, v, 4);
  else tagged(o, 0xcf, v, 8);
}

void int64(std::string& o, std::int64_t v) {
  if (v >= 0) return uint(o, static_cast<std::uint64_t>(v));
  auto u = static_cast<std::uint64_t>(v);
  if (v >= -32) o.push_back(static_cast<char>(v));
  else if (v >= -128) tagged(o, 0xd0, u, 1);
  else if (v >= -32768) tagged(o, 0xd1, u, 2);
  else if (v >= -2147483648LL) tagged(o, 0xd2, u, 4);
  else tagged(o, 0xd3, u, 8);
}

void str(std::string& o, std::string_view s) {
  header(o, s.size(), 0xa0, 31, 0xd9, 0xda, 0xdb);
  o.append(s);
}

void bin(std::string& o, std::string_view bytes) {
  if (bytes.size() < 256) tagged(o, 0xc4, bytes.size(), 1);  // bin has no fix form
  else if (bytes.size() < 65536) tagged(o, 0xc5, bytes.size(), 2);
  else tagged(o, 0xc6, bytes.size(), 4);
  o.append(bytes);
}

void array_header(std::string& o, std::size_t n) { header(o, n, 0x90, 15, 0, 0xdc, 0xdd); }
void map_header(std::string& o, std::size_t n) { header(o, n, 0x80, 15, 0, 0xde, 0xdf); }
void boolean(std::string& o, bool v) { o.push_back(static_cast<char>(v ? 0xc3 : 0xc2)); }

void json(std::string& o, const nlohmann::json& j) {
  using t = nlohmann::json::value_t;
  switch (j.type()) {
    case t::null:
    case t::discarded: o.push_back(static_cast<char>(0xc0)); break;
    case t::boolean: boolean(o, j.get_ref<const nlohmann::json::boolean_t&>()); break;
    case t::number_integer: int64(o, j.get_ref<const nlohmann::json::number_integer_t&>()); break;
    case t::number_unsigned: uint(o, j.get_ref<const nlohmann::json::number_unsigned_t&>()); break;
    case t::number_float: {
      std::uint64_t bits;
      double d = j.get_ref<const nlohmann::json::number_float_t&>();
      std::memcpy(&bits, &d, sizeof bits);
      tagged(o, 0xcb, bits, 8);
      break;
    }
    case t::string: str(o, j.get_ref<const std::string&>()); break;
    case t::array:
      array_header(o, j.size());
      for (const auto& e : j.get_ref<const nlohmann::json::array_t&>()) json(o, e);
      break;
    case t::object:
      map_header(o, j.size());
      for (const auto& [k, v] : j.get_ref<const nlohmann::json::object_t&>()) {
        str(o, k);
        json(o, v);
      }
      break;
    case t::binary: {
      const auto& b = j.get_binary();
      bin(o, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
      break;
    }
  }
}

}  // namespace keel::memory::msgpack_out
