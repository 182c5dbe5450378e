// One atomic group of LevelDB puts and deletes. Every memory operation
// builds one of these and commits it once, so a state change and the index
// and log entries that describe it land together or not at all.
#pragma once

#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "runtime/base/error.hpp"
#include "storage/store.hpp"

namespace keel::memory {

class batch {
 public:
  void put(std::string key, std::string value) { ops_.push_back({std::move(key), std::move(value), false}); }
  void del(std::string key) { ops_.push_back({std::move(key), {}, true}); }
  void reserve(std::size_t n) { ops_.reserve(n); }
  bool empty() const { return ops_.empty(); }
  std::size_t size() const { return ops_.size(); }
  void append(const batch& other) { ops_.insert(ops_.end(), other.ops_.begin(), other.ops_.end()); }

  // Atomic; with sync=true durable across a machine crash on return.
  status commit(store& db, bool sync) const {
    std::vector<store::write_op> ops;
    ops.reserve(ops_.size());
    for (const auto& o : ops_) ops.push_back({&o.key, &o.value, o.is_delete});
    return db.apply(ops, sync);
  }

 private:
  struct op {
    std::string key;
    std::string value;
    bool is_delete;
  };
  std::vector<op> ops_;
};

// Fixed-width decimal so LevelDB's byte order is numeric order; the append
// form builds a key in one string (keys are made on every write).
inline void append_key_number(std::string& key, unsigned long long n, int width = 20) {
  char digits[20];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  auto len = static_cast<std::size_t>(end - digits);
  if (len < static_cast<std::size_t>(width)) key.append(static_cast<std::size_t>(width) - len, '0');
  key.append(digits, len);
}
inline std::string key_number(unsigned long long n, int width = 20) {
  std::string s;
  append_key_number(s, n, width);
  return s;
}

}  // namespace keel::memory
