// One atomic group of puts and deletes for the node's store. Every writer
// (the workflow engine's group commit, the memory stores, the connectors'
// inbox, the control plane's logs) collects what one change writes in a
// write_batch and hands it to store::write once, so the change and the
// index and log entries that describe it land together or not at all.
//
// A batch is a plain value: building one touches no database and is not
// thread-safe; it may be written more than once (nothing is consumed).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace keel {

class write_batch {
 public:
  // Later operations on a key win over earlier ones in the same batch.
  void put(std::string key, std::string value) { ops_.push_back({std::move(key), std::move(value), false}); }
  void del(std::string key) { ops_.push_back({std::move(key), {}, true}); }
  void append(const write_batch& other) { ops_.insert(ops_.end(), other.ops_.begin(), other.ops_.end()); }

  void reserve(std::size_t n) { ops_.reserve(n); }
  void clear() { ops_.clear(); }
  bool empty() const { return ops_.empty(); }
  std::size_t size() const { return ops_.size(); }

  struct op {
    std::string key;
    std::string value;  // empty for a delete
    bool is_delete;
  };
  // In the order they were added (the order the store applies them).
  const std::vector<op>& ops() const { return ops_; }

 private:
  std::vector<op> ops_;
};

}  // namespace keel
