// The audit trail: an append-only, hash-chained log in the node's LevelDB of
// everything an operator may have to explain later: side effects,
// approvals, policy decisions, secret use (by name only) and config changes.
//
// Entry n holds hash(n-1); its own hash is SHA-256 over "keel-audit-v1\n",
// the previous hash and the canonical JSON of the entry's fields. Changing
// any byte of an entry, deleting one or reordering two breaks the chain at
// the first affected position, and verify() names it. Every `checkpoint_every`
// entries a checkpoint records (seq, hash); a head record holds the last
// (seq, hash), so truncating the tail is detected too. Anyone who can
// rewrite the whole store can rewrite the chain: export checkpoints off the
// machine for stronger guarantees.
//
// Everything appended passes through the redactor first: secrets never
// enter the trail.
//
// Retention (prune_before) removes the oldest entries a checkpoint at a
// time and keeps the last removed entry's (seq, hash) as the floor: the
// chain then starts there, so verify() still checks every link that is
// left and still names any change.
//
// Key layout:  ctl/audit/e/<seq %016llu>   entry JSON
//              ctl/audit/cp/<seq %016llu>  {seq, hash, ts_ms}
//              ctl/audit/head              {seq, hash}
//              ctl/audit/floor             {seq, hash}: entries up to seq were removed by retention
// Thread-safety: safe for concurrent use; appends are serialised.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/control/redactor.hpp"
#include "runtime/base/error.hpp"
#include "storage/store.hpp"

namespace keel::control {

struct audit_entry {
  std::uint64_t seq = 0;  // 1, 2, 3, ...
  std::int64_t ts_ms = 0;
  std::string kind;     // side_effect | approval | policy_decision | secret_use | config_change | ...
  std::string actor;    // who: operator, agent name, executor, keelctl user
  std::string subject;  // what: step id, secret name, file, rule
  nlohmann::json detail = nlohmann::json::object();
  std::string trace_id;
  std::string prev_hash;  // hex; 64 zeros for the first entry
  std::string hash;       // hex

  nlohmann::json to_json() const;
};

// One entry to append (append_many).
struct audit_request {
  std::string kind, actor, subject;
  nlohmann::json detail = nlohmann::json::object();
  std::string trace_id;
};

struct audit_verify_report {
  bool ok = true;
  std::uint64_t entries_checked = 0;
  std::uint64_t first_bad_seq = 0;  // 0 when ok
  std::string problem;              // one line naming the position and what is wrong
  std::uint64_t pruned_through = 0; // entries up to this seq were removed by retention (0: none)
};

class audit_log {
 public:
  // Reads the head; errors: io, or forbidden when the head is unreadable.
  static result<std::unique_ptr<audit_log>> open(store& db, std::shared_ptr<const redactor> redact = nullptr,
                                                 std::uint64_t checkpoint_every = 1000);

  audit_log(const audit_log&) = delete;
  audit_log& operator=(const audit_log&) = delete;

  // Redacts, chains and durably writes one entry (entry, head and any
  // checkpoint in one batch). Returns the stored entry.
  result<audit_entry> append(const std::string& kind, const std::string& actor, const std::string& subject,
                             nlohmann::json detail = nlohmann::json::object(), const std::string& trace_id = {},
                             bool sync = false);
  // Appends `reqs` in order, chained, in ONE store batch (entries, head and
  // checkpoints): the cost of a write is shared by the batch. All or none.
  result<std::vector<audit_entry>> append_many(std::vector<audit_request> reqs, bool sync = false);

  std::uint64_t size() const;  // last seq
  // The last `n` entries (of `kind`, when given; none older than
  // `since_ms`, and the walk back stops there), oldest first.
  result<std::vector<audit_entry>> tail(std::size_t n, const std::string& kind = {}, std::int64_t since_ms = 0) const;
  // Calls fn for entries from `from_seq` on, in order, until it returns false.
  status for_each(std::uint64_t from_seq, const std::function<bool(const audit_entry&)>& fn) const;

  // Removes the entries older than `cutoff_ms`, up to the last checkpoint
  // whose entry is older (whole checkpoint intervals, one batch each, so a
  // crash leaves a consistent floor), at most `max_intervals` of them per
  // call so a first prune of a long trail does not hold the caller. Returns
  // how many entries were removed.
  result<std::uint64_t> prune_before(std::int64_t cutoff_ms, std::size_t max_intervals = 50);
  std::uint64_t pruned_through() const;

  // Re-walks the whole chain from entry 1 (or the floor) and checks every link, the
  // checkpoints and the head. Errors only for storage failures; a broken
  // chain is a report with ok == false.
  result<audit_verify_report> verify() const;

  static std::string entry_key(std::uint64_t seq);
  static std::string compute_hash(const audit_entry& e);

 private:
  audit_log(store& db, std::shared_ptr<const redactor> r, std::uint64_t every)
      : db_(db), redact_(std::move(r)), every_(every ? every : 1000) {}

  store& db_;
  std::shared_ptr<const redactor> redact_;
  std::uint64_t every_;
  mutable std::mutex mu_;
  std::uint64_t last_seq_ = 0;
  std::string last_hash_;
  std::uint64_t floor_seq_ = 0;
};

}  // namespace keel::control
