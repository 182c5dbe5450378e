// See msgpack_in.hpp. The checker walks the bytes once, recursing only
// into containers (so at most max_depth deep); the readers after it trust
// what it accepted and never look at a byte it did not.
#include "runtime/base/msgpack_in.hpp"

#include <bit>
#include <cstring>
#include <vector>

#include "runtime/base/utf8.hpp"

namespace keel::msgpack_in {

namespace {

std::uint64_t be(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// What one header says: the value's kind, and for strings and containers
// their length (bytes or elements); `head` is the header's own size.
enum class tag : std::uint8_t { nil, boolean, uint, sint, f32, f64, str, array, map, bin, ext, never_used };
struct header {
  tag t = tag::never_used;
  std::size_t head = 1;   // bytes of the header (for numbers: of the whole value)
  std::uint64_t n = 0;    // str/bin/ext: payload bytes; array/map: elements; ints: the raw bits
};

// The headers read_header() does not decide itself: 0xc1 and up.
bool read_long_header(const unsigned char* p, std::size_t avail, header& h) {
  unsigned char c = p[0];
  auto need = [&](std::size_t k) { return avail >= k; };
  auto sized = [&](tag t, int len_bytes, std::size_t extra = 0) {
    if (!need(1 + static_cast<std::size_t>(len_bytes) + extra)) return false;
    h.t = t;
    h.n = be(p + 1, len_bytes);
    h.head = 1 + static_cast<std::size_t>(len_bytes) + extra;
    return true;
  };
  auto number = [&](tag t, int bytes) {
    if (!need(1 + static_cast<std::size_t>(bytes))) return false;
    h.t = t;
    h.n = be(p + 1, bytes);
    h.head = 1 + static_cast<std::size_t>(bytes);
    if (t == tag::sint) {
      // Sign-extend to 64 bits.
      int shift = 64 - 8 * bytes;
      h.n = static_cast<std::uint64_t>(static_cast<std::int64_t>(h.n << shift) >> shift);
    }
    return true;
  };
  if (c >= 0xe0) return h = {tag::sint, 1, static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int8_t>(c)))}, true;
  switch (c) {
    case 0xc2: return h = {tag::boolean, 1, 0}, true;
    case 0xc3: return h = {tag::boolean, 1, 1}, true;
    case 0xc4: return sized(tag::bin, 1);
    case 0xc5: return sized(tag::bin, 2);
    case 0xc6: return sized(tag::bin, 4);
    case 0xc7: return sized(tag::ext, 1, 1);
    case 0xc8: return sized(tag::ext, 2, 1);
    case 0xc9: return sized(tag::ext, 4, 1);
    case 0xca: return number(tag::f32, 4);
    case 0xcb: return number(tag::f64, 8);
    case 0xcc: return number(tag::uint, 1);
    case 0xcd: return number(tag::uint, 2);
    case 0xce: return number(tag::uint, 4);
    case 0xcf: return number(tag::uint, 8);
    case 0xd0: return number(tag::sint, 1);
    case 0xd1: return number(tag::sint, 2);
    case 0xd2: return number(tag::sint, 4);
    case 0xd3: return number(tag::sint, 8);
    case 0xd4: return h = {tag::ext, 2, 1}, true;   // fixext 1: type byte, then 1 byte
    case 0xd5: return h = {tag::ext, 2, 2}, true;
    case 0xd6: return h = {tag::ext, 2, 4}, true;
    case 0xd7: return h = {tag::ext, 2, 8}, true;
    case 0xd8: return h = {tag::ext, 2, 16}, true;
    case 0xd9: return sized(tag::str, 1);
    case 0xda: return sized(tag::str, 2);
    case 0xdb: return sized(tag::str, 4);
    case 0xdc: return sized(tag::array, 2);
    case 0xdd: return sized(tag::array, 4);
    case 0xde: return sized(tag::map, 2);
    case 0xdf: return sized(tag::map, 4);
    default: return h = {tag::never_used, 1, 0}, true;  // 0xc1
  }
}

// Reads the header at p (at least one byte available); `avail` bytes from p
// on. Returns false when the header itself is cut off. The one-byte forms
// (small numbers, short strings, small containers, nil and booleans) are
// what Keel's frames are mostly made of, so they are decided here.
inline bool read_header(const unsigned char* p, std::size_t avail, header& h) {
  unsigned char c = p[0];
  if (c <= 0x7f) return h = {tag::uint, 1, c}, true;
  if (c >= 0xa0 && c <= 0xbf) return h = {tag::str, 1, static_cast<std::uint64_t>(c & 0x1f)}, true;
  if (c >= 0x80 && c <= 0x8f) return h = {tag::map, 1, static_cast<std::uint64_t>(c & 0x0f)}, true;
  if (c >= 0x90 && c <= 0x9f) return h = {tag::array, 1, static_cast<std::uint64_t>(c & 0x0f)}, true;
  if (c == 0xc0) return h = {tag::nil, 1, 0}, true;
  return read_long_header(p, avail, h);
}

// A header read from checked bytes (cannot be cut off).
inline header header_at(std::string_view b, std::size_t at) {
  header h;
  read_header(reinterpret_cast<const unsigned char*>(b.data()) + at, b.size() - at, h);
  return h;
}

// Why a value is refused. `path` (innermost segment last, built while
// unwinding, so only when something is wrong) applies to `value_error`s.
struct failure {
  enum { none, encoding, value_error } kind = none;
  std::string why;
  std::vector<std::string> path;
};

// A map key as a path segment, cut short so a message stays readable.
std::string key_segment(std::string_view key) {
  std::string seg(".");
  if (key.size() > 64) seg.append(key.substr(0, 61)).append("...");
  else seg.append(key);
  return seg;
}

class checker {
 public:
  checker(std::string_view in, const limits& lim) : p_(reinterpret_cast<const unsigned char*>(in.data())), n_(in.size()), lim_(lim) {}

  // Checks the value at off_ inside `depth` containers, advancing off_.
  bool value(std::size_t depth) {
    if (off_ >= n_) return encoding("is truncated msgpack");
    header h;
    if (!read_header(p_ + off_, n_ - off_, h)) return encoding("is truncated msgpack");
    switch (h.t) {
      case tag::never_used: return encoding("is not valid msgpack: byte 0xc1 is never used");
      case tag::nil:
      case tag::boolean:
      case tag::uint:
      case tag::sint:
      case tag::f32:
      case tag::f64: off_ += h.head; return true;
      case tag::str: {
        std::string_view s;
        return text(h.head, h.n, s, "string is not valid UTF-8");
      }
      case tag::bin: return refuse("binary values are not supported");
      case tag::ext: return refuse("ext values are not supported");
      case tag::array:
      case tag::map: {
        if (h.n > lim_.max_container)
          return encoding("has a container of " + std::to_string(h.n) + " entries, more than the limits allow (" +
                          std::to_string(lim_.max_container) + ")");
        if (depth + 1 > lim_.max_depth) return encoding("nests deeper than " + std::to_string(lim_.max_depth) + " levels");
        off_ += h.head;
        if (h.t == tag::array) {
          for (std::uint64_t i = 0; i < h.n; ++i)
            if (!element(depth + 1)) return within("[" + std::to_string(i) + "]");
          return true;
        }
        // Only the outermost map's entries are handed out.
        auto* fn = depth == 0 ? entry_ : nullptr;
        for (std::uint64_t i = 0; i < h.n; ++i) {
          std::string_view key;
          if (!map_key(key)) return false;
          std::size_t start = off_;
          if (!element(depth + 1)) return within(key_segment(key));
          if (fn) fn(ctx_, key, msgpack_in::value(std::string_view(reinterpret_cast<const char*>(p_ + start), off_ - start)));
        }
        return true;
      }
    }
    return encoding("is not valid msgpack");
  }

  // A container's element at off_, as value() checks it; the one-byte
  // scalars and short strings, most of what Keel's frames hold, are
  // stepped over here without a call.
  bool element(std::size_t depth) {
    if (off_ < n_) {
      unsigned char c = p_[off_];
      if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) return ++off_, true;
      // Numbers of a fixed width: ids, counters, durations.
      if (c >= 0xca && c <= 0xd3) {
        const std::size_t size = c <= 0xcb ? (c == 0xca ? 5 : 9) : 1 + (std::size_t{1} << ((c - 0xcc) & 3));
        if (n_ - off_ < size) return encoding("is truncated msgpack");
        return off_ += size, true;
      }
      std::string_view s;
      if ((c & 0xe0) == 0xa0) return text(1, c & 0x1f, s, "string is not valid UTF-8");
      if (c == 0xd9 && n_ - off_ >= 2) return text(2, p_[off_ + 1], s, "string is not valid UTF-8");
    }
    return value(depth);
  }

  // A map key at off_: a UTF-8 string. Advances off_ past it.
  bool map_key(std::string_view& key) {
    if (off_ < n_ && (p_[off_] & 0xe0) == 0xa0)
      return text(1, p_[off_] & 0x1f, key, "map key is not valid UTF-8");
    if (off_ >= n_) return encoding("is truncated msgpack");
    header h;
    if (!read_header(p_ + off_, n_ - off_, h)) return encoding("is truncated msgpack");
    if (h.t == tag::never_used) return encoding("is not valid msgpack: byte 0xc1 is never used");
    if (h.t != tag::str) return refuse("map key is not a string");
    return text(h.head, h.n, key, "map key is not valid UTF-8");
  }

  // The string at off_ whose header of `head` bytes (all within the input)
  // gives it `len` bytes: within the bytes and UTF-8 (else refused as
  // `not_utf8`). Advances off_ past it.
  bool text(std::size_t head, std::uint64_t len, std::string_view& s, const char* not_utf8) {
    if (len > n_ - off_ - head) return encoding("is truncated msgpack");
    const auto* at = p_ + off_ + head;
    s = std::string_view(reinterpret_cast<const char*>(at), len);
    if (!short_ascii(at, len) && !utf8::valid(s)) return refuse(not_utf8);
    off_ += head + len;
    return true;
  }

  // Whether the n <= 8 bytes at `at` are all ASCII, read as the one word
  // that ends where they end; the bytes before them in that word are the
  // value's header and whatever precedes it, masked off. False (ask
  // utf8::valid) when the word would start before the input.
  bool short_ascii(const unsigned char* at, std::size_t n) const {
    if (n == 0) return true;
    if (n > 8 || at + n - p_ < 8) return false;
    std::uint64_t w;
    std::memcpy(&w, at + n - 8, 8);
    const auto drop = 8 * (8 - n);  // bits of the bytes before them
    const auto mine = std::endian::native == std::endian::little ? ~std::uint64_t{0} << drop : ~std::uint64_t{0} >> drop;
    return (w & mine & 0x8080808080808080ULL) == 0;
  }

  std::size_t offset() const { return off_; }
  void hand_entries_to(entry_fn fn, void* ctx) {
    entry_ = fn;
    ctx_ = ctx;
  }
  failure& fail() { return fail_; }

 private:
  bool encoding(std::string why) {
    fail_.kind = failure::encoding;
    fail_.why = std::move(why);
    return false;
  }
  bool refuse(std::string why) {
    fail_.kind = failure::value_error;
    fail_.why = std::move(why);
    return false;
  }
  bool within(std::string segment) {
    if (fail_.kind == failure::value_error) fail_.path.push_back(std::move(segment));
    return false;
  }

  const unsigned char* p_;
  std::size_t n_;
  std::size_t off_ = 0;
  const limits& lim_;
  failure fail_;
  entry_fn entry_ = nullptr;
  void* ctx_ = nullptr;
};

error describe(const failure& f, std::string_view root) {
  std::string msg(root);
  if (f.kind == failure::encoding) return {errc::bad_frame, msg + " " + f.why};
  for (auto it = f.path.rbegin(); it != f.path.rend(); ++it) msg += *it;
  return {errc::bad_frame, msg + ": " + f.why};
}

}  // namespace

result<std::size_t> check(std::string_view in, const limits& lim, std::size_t depth, std::string_view root) {
  checker c(in, lim);
  if (!c.value(depth)) return describe(c.fail(), root);
  return c.offset();
}

result<std::size_t> check_map_entries(std::string_view in, const limits& lim, entry_fn fn, void* ctx,
                                      std::string_view root) {
  header h;
  bool is_map = !in.empty() && read_header(reinterpret_cast<const unsigned char*>(in.data()), in.size(), h) &&
                h.t == tag::map;
  if (!is_map) {
    auto len = check(in, lim, 0, root);
    if (!len) return len;
    return error{errc::bad_frame, std::string(root) + " must be a msgpack map"};
  }
  checker c(in, lim);
  c.hand_entries_to(fn, ctx);
  if (!c.value(0)) return describe(c.fail(), root);
  return c.offset();
}

// --- reading checked values ---------------------------------------------------

std::size_t skip_one(std::string_view b, std::size_t at) {
  auto c = static_cast<unsigned char>(b[at]);
  if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) return at + 1;
  if ((c & 0xe0) == 0xa0) return at + 1 + (c & 0x1f);
  auto h = header_at(b, at);
  switch (h.t) {
    case tag::str:
    case tag::bin:
    case tag::ext: return at + h.head + h.n;
    case tag::array: {
      at += h.head;
      for (std::uint64_t i = 0; i < h.n; ++i) at = skip_one(b, at);
      return at;
    }
    case tag::map: {
      at += h.head;
      for (std::uint64_t i = 0; i < 2 * h.n; ++i) at = skip_one(b, at);
      return at;
    }
    default: return at + h.head;
  }
}

kind value::type() const {
  if (b_.empty()) return kind::nil;
  auto h = header_at(b_, 0);
  switch (h.t) {
    case tag::boolean: return kind::boolean;
    case tag::uint: return kind::uint;
    case tag::sint: return static_cast<std::int64_t>(h.n) < 0 ? kind::negative : kind::uint;
    case tag::f32:
    case tag::f64: return kind::real;
    case tag::str: return kind::str;
    case tag::array: return kind::array;
    case tag::map: return kind::map;
    default: return kind::nil;
  }
}

std::optional<std::uint64_t> value::as_uint() const {
  if (b_.empty()) return std::nullopt;
  // Ids and counters: a positive fixint or uint8..uint64, read here.
  auto c = static_cast<unsigned char>(b_[0]);
  if (c <= 0x7f) return c;
  if (c >= 0xcc && c <= 0xcf) return be(reinterpret_cast<const unsigned char*>(b_.data()) + 1, 1 << (c - 0xcc));
  auto h = header_at(b_, 0);
  if (h.t == tag::uint || (h.t == tag::sint && static_cast<std::int64_t>(h.n) >= 0)) return h.n;
  return std::nullopt;
}

std::optional<bool> value::as_bool() const {
  if (b_.empty()) return std::nullopt;
  auto h = header_at(b_, 0);
  if (h.t != tag::boolean) return std::nullopt;
  return h.n != 0;
}

std::optional<std::string_view> value::as_str() const {
  if (b_.empty()) return std::nullopt;
  auto h = header_at(b_, 0);
  if (h.t != tag::str) return std::nullopt;
  return b_.substr(h.head, h.n);
}

namespace {
double real_of(const header& h) {
  if (h.t == tag::f32) {
    auto bits = static_cast<std::uint32_t>(h.n);
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  double d;
  std::memcpy(&d, &h.n, sizeof d);
  return d;
}
}  // namespace

std::optional<double> value::as_number() const {
  if (b_.empty()) return std::nullopt;
  auto h = header_at(b_, 0);
  switch (h.t) {
    case tag::uint: return static_cast<double>(h.n);
    case tag::sint: return static_cast<double>(static_cast<std::int64_t>(h.n));
    case tag::f32:
    case tag::f64: return real_of(h);
    default: return std::nullopt;
  }
}

std::size_t value::map_begin(std::size_t& entries) const {
  entries = 0;
  if (b_.empty()) return 0;
  auto h = header_at(b_, 0);
  if (h.t != tag::map) return 0;
  entries = static_cast<std::size_t>(h.n);
  return h.head;
}

value value::find(std::string_view key) const {
  value found;
  each_entry([&](std::string_view k, value v) {
    if (k == key) found = v;
  });
  return found;
}

namespace {

// Builds `out` from the checked value at `at`; returns the offset after it.
std::size_t build(std::string_view b, std::size_t at, nlohmann::json& out) {
  auto h = header_at(b, at);
  switch (h.t) {
    case tag::nil: out = nullptr; return at + h.head;
    case tag::boolean: out = h.n != 0; return at + h.head;
    case tag::uint: out = h.n; return at + h.head;
    case tag::sint:
      if (static_cast<std::int64_t>(h.n) >= 0) out = h.n;
      else out = static_cast<std::int64_t>(h.n);
      return at + h.head;
    case tag::f32:
    case tag::f64: out = real_of(h); return at + h.head;
    case tag::str: out = std::string(b.data() + at + h.head, h.n); return at + h.head + h.n;
    case tag::array: {
      out = nlohmann::json::array();
      auto& arr = out.get_ref<nlohmann::json::array_t&>();
      arr.resize(static_cast<std::size_t>(h.n));
      at += h.head;
      for (auto& e : arr) at = build(b, at, e);
      return at;
    }
    case tag::map: {
      out = nlohmann::json::object();
      auto& obj = out.get_ref<nlohmann::json::object_t&>();
      at += h.head;
      for (std::uint64_t i = 0; i < h.n; ++i) {
        auto kh = header_at(b, at);
        // Keel peers write their keys sorted (std::map), so the hint is
        // right and no key is compared on the way in. A repeated key: the
        // last value wins.
        auto it = obj.emplace_hint(obj.end(), std::string(b.data() + at + kh.head, kh.n), nullptr);
        at = build(b, at + kh.head + kh.n, it->second);
      }
      return at;
    }
    default: out = nullptr; return at + h.head;  // not in checked bytes
  }
}

}  // namespace

nlohmann::json value::to_json() const {
  nlohmann::json out;
  if (!b_.empty()) build(b_, 0, out);
  return out;
}

}  // namespace keel::msgpack_in
