// The node's durable store: one LevelDB database inside the node's data
// directory. Exactly one node process may open a data directory; the store
// holds LevelDB's lock for its lifetime and writes `node.pid` beside it so a
// second node can say who holds it.
//
// Thread-safety: a store is safe for concurrent use from many threads (as
// LevelDB is). It is neither copyable nor movable; own it by unique_ptr.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/base/error.hpp"
#include "storage/write_batch.hpp"

namespace leveldb {
class DB;
class FilterPolicy;
}  // namespace leveldb

namespace keel {

struct node_identity {
  std::string node_id;        // random, stable across restarts of this data dir
  std::int64_t created_ms = 0;
  std::uint64_t starts = 0;   // how many times a node has opened this dir
};

class store {
 public:
  // Creates `data_dir` if needed and opens (or creates) the database.
  // Errors: io with "a node is already running on DIR (pid N)" when another
  // process holds the lock; io naming the path for other failures.
  static result<std::unique_ptr<store>> open(const std::string& data_dir);

  store(const store&) = delete;
  store& operator=(const store&) = delete;
  ~store();  // closes the database and removes node.pid

  const std::string& dir() const { return dir_; }
  const node_identity& identity() const { return identity_; }

  // Point access. get() returns nullopt when the key does not exist (not an
  // error). put(sync=true) is durable across a machine crash on return.
  result<std::optional<std::string>> get(const std::string& key) const;
  status put(const std::string& key, const std::string& value, bool sync = false);

  // Applies every operation of `batch` atomically (one LevelDB WriteBatch),
  // in order; sync=true is durable across a machine crash on return (an
  // empty batch with sync=true still syncs what was written before it).
  // Errors: io, naming LevelDB's reason.
  status write(const write_batch& batch, bool sync = false);

  // Calls fn(key, value) for every key starting with `prefix`, in key order,
  // until fn returns false. `reverse` walks from the last key down.
  status scan(const std::string& prefix, const std::function<bool(const std::string&, const std::string&)>& fn,
              bool reverse = false) const;
  // The same forwards, starting at the first key >= `from` (which should
  // start with `prefix`): a read from the middle of a long range costs what
  // it reads, not the range before it.
  status scan_from(const std::string& prefix, const std::string& from,
                   const std::function<bool(const std::string&, const std::string&)>& fn) const;

 private:
  store() = default;
  status load_identity();

  std::string dir_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;  // outlives db_ (declared first)
  std::unique_ptr<leveldb::DB> db_;
  node_identity identity_;
};

// Reads DIR/node.pid; 0 if absent or unreadable.
long read_node_pid(const std::string& data_dir);

}  // namespace keel
