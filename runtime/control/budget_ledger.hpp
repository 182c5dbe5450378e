// Model spend: reserved before a call, settled after it, persisted per UTC
// day in the node's LevelDB so `keelctl cost --by model|agent|workflow
// --since 7d` can be answered after a restart.
//
// reserve() checks settled + reserved + the new amount against every hard
// limit under one mutex, so concurrent calls together can never pass a
// limit: a call that would is refused before it starts. settle() replaces
// the reservation by the actual cost (the router reserves an upper bound,
// so actual <= reserved unless a provider over-reports; that overrun is
// still recorded, never hidden). release() returns a reservation unused.
//
// Key layout:  ctl/spend/d/<YYYY-MM-DD>/<dim>/<name>  {usd, calls, input_tokens, output_tokens}
//              (dim: total | model | agent | workflow; total's name is "all")
//              ctl/spend/run/<workflow run>            {usd}
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "runtime/control/policy.hpp"
#include "runtime/base/error.hpp"
#include "storage/store.hpp"

namespace keel::control {

struct spend_row {
  double usd = 0;
  std::uint64_t calls = 0, input_tokens = 0, output_tokens = 0;
};

struct reservation {
  std::uint64_t id = 0;
  double usd = 0;
  std::string run;  // the workflow run the reservation counts against
};

// What one settled call spent, and on whose behalf.
struct spend_record {
  std::string model, agent, workflow, run;
  double usd = 0;
  int input_tokens = 0, output_tokens = 0;
};

std::string utc_day(std::int64_t unix_ms);  // "2025-03-01"

class budget_ledger {
 public:
  // Loads today's, this month's and nothing else; errors: io.
  static result<std::unique_ptr<budget_ledger>> open(store& db);

  budget_ledger(const budget_ledger&) = delete;
  budget_ledger& operator=(const budget_ledger&) = delete;

  // Holds `usd` against the limits. Errors: forbidden, naming the scope,
  // what is spent and the limit ("over the day budget: ...").
  result<reservation> reserve(double usd, const std::string& run, const hard_limits& limits);
  // Records the actual spend and frees the reservation; returns once the
  // rows are in LevelDB (settles that run at once share one write).
  // Errors: io (the reservation is freed, the spend still counted in
  // memory, and the rows are written again with the next settle).
  status settle(const reservation& r, const spend_record& actual);
  void release(const reservation& r);

  // Settled + reserved, for policy evaluation and `keelctl models`.
  spend_totals totals(const std::string& run = {}) const;

  // Spend per name of `dim` (model | agent | workflow | total) for UTC days
  // from since_ms's day to today, read from the store.
  result<std::map<std::string, spend_row>> report(const std::string& dim, std::int64_t since_ms) const;

 private:
  explicit budget_ledger(store& db) : db_(db) {}
  void roll_over_locked(std::int64_t now_ms);
  double run_spent_locked(const std::string& run) const;

  store& db_;
  mutable std::mutex mu_;
  // Orders settle()'s writes (rows hold running totals: a later total must
  // not be overwritten by an earlier one) without holding mu_, so
  // reserve() and totals() never wait for LevelDB. mu_ is taken inside it
  // for moments, never the other way round.
  std::mutex write_mu_;
  std::string day_, month_;
  std::int64_t day_number_ = -1;  // unix_ms / 86,400,000 of day_: a UTC day changes only there
  double day_settled_ = 0, month_settled_ = 0, reserved_ = 0;
  // Cache of ctl/spend/run/*, emptied when it passes run_cache_max runs so
  // a node that runs for years does not keep every run it ever saw.
  // Hashed: every call looks its run up, and run ids share a prefix.
  mutable std::unordered_map<std::string, double> run_settled_;
  static constexpr std::size_t run_cache_max = 20'000;
  // settle() writes queued or running: the run cache is only emptied when
  // none is, so no run row is read back from LevelDB before its newest
  // total has landed there.
  std::atomic<int> writes_pending_{0};
  // Rows changed and not yet in LevelDB, at their newest value (key -> JSON).
  std::map<std::string, std::string> unwritten_;
  // Today's rows as written (the ledger is their only writer), so a settle
  // reads each row from LevelDB once a day, not once a call.
  std::map<std::string, spend_row> today_rows_;
  std::unordered_map<std::string, double> run_reserved_;
  std::uint64_t next_id_ = 1;
};

}  // namespace keel::control
