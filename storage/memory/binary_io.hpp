// Little helpers for the memory store's binary snapshots (the catalog and
// the keyword index): raw host-order writes, and bounds-checked reads that
// turn a short or damaged file into a flag instead of a crash. The files
// carry a BLAKE2b hash and a format version, so host order is enough: a
// file from another machine fails its checks and is rebuilt.
#pragma once

#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace keel::memory::binary {

template <class T> void put(std::ostream& out, const T& v) { out.write(reinterpret_cast<const char*>(&v), sizeof v); }

template <class T> void put_array(std::ostream& out, const T* data, std::size_t n) {
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * sizeof(T)));
}

inline void put_string(std::ostream& out, std::string_view s) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

// Reads from `in`; after the first short read `failed` is set and every
// later read returns zeros, so a parser checks `failed` once per section.
struct reader {
  std::string_view in;
  bool failed = false;

  template <class T> T take() {
    T v{};
    if (failed || in.size() < sizeof v) {
      failed = true;
      return v;
    }
    std::memcpy(&v, in.data(), sizeof v);
    in.remove_prefix(sizeof v);
    return v;
  }
  template <class T> bool take_array(std::vector<T>& out, std::uint64_t n) {
    if (failed || n > in.size() / sizeof(T)) return !(failed = true);
    out.resize(n);
    std::memcpy(out.data(), in.data(), n * sizeof(T));
    in.remove_prefix(n * sizeof(T));
    return true;
  }
  std::string take_string() {
    auto n = take<std::uint32_t>();
    if (failed || n > in.size()) {
      failed = true;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

}  // namespace keel::memory::binary
