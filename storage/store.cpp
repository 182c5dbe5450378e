#include "storage/store.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <unistd.h>

#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

namespace keel {

namespace fs = std::filesystem;

namespace {
constexpr const char* identity_key = "meta/identity";

std::string random_node_id() {
  std::random_device rd;
  std::mt19937_64 rng(rd());
  static const char* digits = "0123456789abcdef";
  std::string id = "n_";
  for (int i = 0; i < 12; ++i) id.push_back(digits[rng() & 15]);
  return id;
}
}  // namespace

long read_node_pid(const std::string& data_dir) {
  std::ifstream in(fs::path(data_dir) / "node.pid");
  long pid = 0;
  if (in >> pid) return pid;
  return 0;
}

result<std::unique_ptr<store>> store::open(const std::string& data_dir) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec)
    return error{errc::io, "cannot create data dir '" + data_dir + "': " + ec.message() +
                               "; pick a writable --data-dir"};
  std::unique_ptr<store> s(new store());
  s->dir_ = fs::absolute(data_dir).lexically_normal().string();

  leveldb::Options opts;
  opts.create_if_missing = true;
  // Many reads look for keys that do not exist yet (a new record's current
  // version, an identity key, an idempotency key): a Bloom filter answers
  // those from memory instead of reading a block of every level. Tables
  // written before it have no filter and are still read as before.
  s->filter_.reset(leveldb::NewBloomFilterPolicy(10));
  opts.filter_policy = s->filter_.get();
  // A node writes histories, spans and ledger rows all the time: a 16 MB
  // memtable (LevelDB's default is 4 MB) flushes a quarter as often, so
  // fewer small level-0 tables are compacted again (measured in
  // keel_agent_bench: about 8% less node CPU per agent turn). It costs up
  // to twice that in memory while a full one is written out.
  opts.write_buffer_size = 16 << 20;
  leveldb::DB* raw = nullptr;
  auto st = leveldb::DB::Open(opts, (fs::path(s->dir_) / "db").string(), &raw);
  if (!st.ok()) {
    auto text = st.ToString();
    if (text.find("lock") != std::string::npos) {
      long pid = read_node_pid(s->dir_);
      return error{errc::io, "a node is already running on " + s->dir_ +
                                 (pid > 0 ? " (pid " + std::to_string(pid) + ")" : "") +
                                 "; stop it first or choose another --data-dir"};
    }
    return error{errc::io, "cannot open the database in " + s->dir_ + ": " + text};
  }
  s->db_.reset(raw);
  {
    std::ofstream pid(fs::path(s->dir_) / "node.pid", std::ios::trunc);
    pid << ::getpid() << "\n";
  }
  if (auto r = s->load_identity(); !r) return r.err();
  return s;
}

store::~store() {
  db_.reset();
  std::error_code ec;
  if (!dir_.empty() && read_node_pid(dir_) == ::getpid()) fs::remove(fs::path(dir_) / "node.pid", ec);
}

status store::load_identity() {
  auto cur = get(identity_key);
  if (!cur) return cur.err();
  if (cur->has_value()) {
    // "node_id created_ms starts"
    std::istringstream in(**cur);
    in >> identity_.node_id >> identity_.created_ms >> identity_.starts;
  } else {
    identity_.node_id = random_node_id();
    identity_.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  }
  ++identity_.starts;
  return put(identity_key,
             identity_.node_id + " " + std::to_string(identity_.created_ms) + " " +
                 std::to_string(identity_.starts),
             true);
}

result<std::optional<std::string>> store::get(const std::string& key) const {
  std::string value;
  auto st = db_->Get(leveldb::ReadOptions(), key, &value);
  if (st.IsNotFound()) return std::optional<std::string>{};
  if (!st.ok()) return error{errc::io, "read of '" + key + "' failed: " + st.ToString()};
  return std::optional<std::string>(std::move(value));
}

status store::put(const std::string& key, const std::string& value, bool sync) {
  leveldb::WriteOptions wo;
  wo.sync = sync;
  auto st = db_->Put(wo, key, value);
  if (!st.ok()) return error{errc::io, "write of '" + key + "' failed: " + st.ToString()};
  return ok_v;
}

status store::write(const write_batch& batch, bool sync) {
  leveldb::WriteBatch b;
  for (const auto& op : batch.ops()) {
    if (op.is_delete) b.Delete(op.key);
    else b.Put(op.key, op.value);
  }
  leveldb::WriteOptions wo;
  wo.sync = sync;
  auto st = db_->Write(wo, &b);
  if (!st.ok()) return error{errc::io, "batch write failed: " + st.ToString() + "; check disk space and permissions"};
  return ok_v;
}

status store::scan(const std::string& prefix,
                   const std::function<bool(const std::string&, const std::string&)>& fn, bool reverse) const {
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  if (!reverse) {
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
      if (!fn(it->key().ToString(), it->value().ToString())) break;
  } else {
    // Seek past the prefix range, then walk back.
    std::string end = prefix;
    end.push_back('\xff');
    it->Seek(end);
    if (!it->Valid()) it->SeekToLast();
    else it->Prev();
    for (; it->Valid() && it->key().starts_with(prefix); it->Prev())
      if (!fn(it->key().ToString(), it->value().ToString())) break;
  }
  if (!it->status().ok()) return error{errc::io, "scan of '" + prefix + "' failed: " + it->status().ToString()};
  return ok_v;
}

status store::scan_from(const std::string& prefix, const std::string& from,
                        const std::function<bool(const std::string&, const std::string&)>& fn) const {
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(std::max(prefix, from)); it->Valid() && it->key().starts_with(prefix); it->Next())
    if (!fn(it->key().ToString(), it->value().ToString())) break;
  if (!it->status().ok()) return error{errc::io, "scan of '" + prefix + "' failed: " + it->status().ToString()};
  return ok_v;
}

}  // namespace keel
