// Reading msgpack from the wire: one checking pass over the bytes, then
// values read in place, without a parse tree and without building JSON
// for what the reader only passes on or looks at once.
//
// check() accepts the JSON-compatible subset (map keys are strings,
// strings are UTF-8, no bin, no ext) within limits on nesting and on the
// entries of one container, so a hostile peer can make the reader neither
// allocate nor recurse without bound. It never throws. A value it accepted
// is read through `value`, whose accessors cannot fail on such bytes: they
// only answer "not that type".
//
// Numbers read as the frame decoder always has: every non-negative integer
// is unsigned, whatever its encoding; negative ones signed; float32 and
// float64 both as double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel::msgpack_in {

struct limits {
  // Containers counted from the outermost: the frame body's map is level 1.
  std::size_t max_depth = 32;
  // Elements of one array, or entries of one map.
  std::size_t max_container = 65536;
};

enum class kind : std::uint8_t { nil, boolean, uint, negative, real, str, array, map };

// Bytes that check() accepted as exactly one value, or none: an empty
// value stands for an absent one (find() returns it for a missing key),
// is false, reads as nil and answers "not that type" to every as_*().
class value {
 public:
  value() = default;
  // Precondition: `checked` is one whole value that check() accepted.
  explicit value(std::string_view checked) : b_(checked) {}

  explicit operator bool() const { return !b_.empty(); }
  std::string_view bytes() const { return b_; }
  kind type() const;
  bool is_map() const { return type() == kind::map; }
  bool is_nil() const { return type() == kind::nil; }

  std::optional<std::uint64_t> as_uint() const;
  std::optional<bool> as_bool() const;
  std::optional<std::string_view> as_str() const;
  // Any integer or float, as double.
  std::optional<double> as_number() const;

  // Entries of a map, in their order (none for anything else):
  // f(std::string_view key, value v).
  template <class F>
  void each_entry(F&& f) const;
  // A map's entry under `key`: the last one when the key repeats (as the
  // JSON decoding keeps the last). Empty when absent or not a map.
  value find(std::string_view key) const;

  // As JSON. Keys that repeat keep their last value.
  nlohmann::json to_json() const;

 private:
  std::string_view b_;
  std::size_t map_begin(std::size_t& entries) const;
};

// The length of the checked value starting at `at`.
std::size_t skip_one(std::string_view checked, std::size_t at);

// Checks the one value at the start of `in` (bytes after it are left for
// the caller) that sits inside `depth` containers; returns its length.
// Errors: bad_frame. Where a value is wrong, the message is the path from
// `root` to it and what is wrong ("body.args.x[2]: string is not valid
// UTF-8", "... map key is not a string", "... binary values are not
// supported"); what breaks the encoding itself is said of `root`
// ("body is truncated msgpack", "body nests deeper than 32 levels").
result<std::size_t> check(std::string_view in, const limits& lim, std::size_t depth = 0,
                          std::string_view root = "body");

// check() for a value that must be a map, handing each of its entries to
// `entry(std::string_view key, value v)` as the check passes it, so the
// caller does not walk the bytes a second time. A later refusal refuses
// the whole: the caller must drop what it was handed then. A value that is
// not a map is refused ("body must be a msgpack map") once check() finds
// nothing else wrong with it.
template <class F>
result<std::size_t> check_map(std::string_view in, const limits& lim, F&& entry, std::string_view root = "body");

// --- inline parts of value --------------------------------------------------

template <class F>
void value::each_entry(F&& f) const {
  std::size_t n = 0;
  std::size_t at = map_begin(n);
  for (std::size_t i = 0; i < n; ++i) {
    // Keys are strings (the check refused others), mostly short ones.
    std::size_t key_end;
    std::string_view key;
    if (auto c = static_cast<unsigned char>(b_[at]); (c & 0xe0) == 0xa0) {
      key = b_.substr(at + 1, c & 0x1f);
      key_end = at + 1 + (c & 0x1f);
    } else {
      key_end = skip_one(b_, at);
      key = value(b_.substr(at, key_end - at)).as_str().value_or(std::string_view());
    }
    std::size_t val_end = skip_one(b_, key_end);
    f(key, value(b_.substr(key_end, val_end - key_end)));
    at = val_end;
  }
}

using entry_fn = void (*)(void* ctx, std::string_view key, value v);
result<std::size_t> check_map_entries(std::string_view in, const limits& lim, entry_fn fn, void* ctx,
                                      std::string_view root);

template <class F>
result<std::size_t> check_map(std::string_view in, const limits& lim, F&& entry, std::string_view root) {
  auto call = [](void* ctx, std::string_view key, value v) { (*static_cast<std::remove_reference_t<F>*>(ctx))(key, v); };
  return check_map_entries(in, lim, call, &entry, root);
}

}  // namespace keel::msgpack_in
