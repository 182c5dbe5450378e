#include "runtime/control/budget_ledger.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "runtime/base/duration.hpp"
#include "runtime/base/json_text.hpp"

namespace keel::control {
namespace {

const std::string day_prefix = "ctl/spend/d/";
const std::string run_prefix = "ctl/spend/run/";

std::string day_key(const std::string& day, const std::string& dim, const std::string& name) {
  return day_prefix + day + "/" + dim + "/" + name;
}

spend_row row_of(const std::string& v) {
  spend_row r;
  auto j = nlohmann::json::parse(v, nullptr, false);
  if (!j.is_object()) return r;
  r.usd = j.value("usd", 0.0);
  r.calls = j.value("calls", std::uint64_t{0});
  r.input_tokens = j.value("input_tokens", std::uint64_t{0});
  r.output_tokens = j.value("output_tokens", std::uint64_t{0});
  return r;
}

// A double as printf writes it with %.17g (every digit needed to read the
// same value back), through to_chars: settle() writes several rows per
// call, and snprintf's double formatting was most of it.
void append_number(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 17);
  out.append(buf, end);
}

// The row as JSON, written directly.
std::string dump(const spend_row& r) {
  std::string out = "{\"usd\":";
  append_number(out, r.usd);
  out += ",\"calls\":";
  append_json_integer(out, r.calls);
  out += ",\"input_tokens\":";
  append_json_integer(out, r.input_tokens);
  out += ",\"output_tokens\":";
  append_json_integer(out, r.output_tokens);
  out += '}';
  return out;
}

std::string run_row(double usd) {
  std::string out = "{\"usd\":";
  append_number(out, usd);
  out += '}';
  return out;
}

std::string money(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.6f", usd);
  return buf;
}

}  // namespace

std::string utc_day(std::int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

result<std::unique_ptr<budget_ledger>> budget_ledger::open(store& db) {
  std::unique_ptr<budget_ledger> l(new budget_ledger(db));
  std::lock_guard g(l->mu_);
  l->roll_over_locked(unix_now_ms());
  return l;
}

// Re-reads the day and month totals when the UTC day changed (and on open).
void budget_ledger::roll_over_locked(std::int64_t now_ms) {
  // Unix time has no leap seconds: every UTC day is 86,400,000 ms long.
  constexpr std::int64_t day_ms = 86'400'000;
  auto number = now_ms >= 0 ? now_ms / day_ms : -1;
  if (number == day_number_ && number >= 0) return;
  day_number_ = number;
  auto day = utc_day(now_ms);
  if (day == day_) return;
  day_ = day;
  month_ = day.substr(0, 7);
  today_rows_.clear();
  day_settled_ = month_settled_ = 0;
  (void)db_.scan(day_prefix + month_ + "-", [&](const std::string& k, const std::string& v) {
    if (k.size() < day_prefix.size() + 10 || k.compare(day_prefix.size() + 10, 11, "/total/all") != 0) return true;
    double usd = row_of(v).usd;
    month_settled_ += usd;
    if (k.compare(day_prefix.size(), 10, day_) == 0) day_settled_ += usd;
    return true;
  });
}

double budget_ledger::run_spent_locked(const std::string& run) const {
  auto it = run_settled_.find(run);
  if (it != run_settled_.end()) return it->second;
  auto v = db_.get(run_prefix + run);
  double usd = (v.ok() && *v) ? row_of(**v).usd : 0;
  if (run_settled_.size() >= run_cache_max && writes_pending_.load() == 0 && unwritten_.empty())
    run_settled_.clear();
  run_settled_[run] = usd;
  return usd;
}

result<reservation> budget_ledger::reserve(double usd, const std::string& run, const hard_limits& limits) {
  std::lock_guard g(mu_);
  roll_over_locked(unix_now_ms());
  auto over = [&](const char* scope, double spent, double limit) {
    return error{errc::forbidden, std::string("over the ") + scope + " budget: " + money(spent) + " spent or held, " +
                                      money(usd) + " more would pass the hard limit of " + money(limit)};
  };
  constexpr double eps = 1e-12;
  if (limits.call_usd && usd > *limits.call_usd + eps) return over("per-call", 0, *limits.call_usd);
  if (limits.day_usd && day_settled_ + reserved_ + usd > *limits.day_usd + eps)
    return over("day", day_settled_ + reserved_, *limits.day_usd);
  if (limits.month_usd && month_settled_ + reserved_ + usd > *limits.month_usd + eps)
    return over("month", month_settled_ + reserved_, *limits.month_usd);
  if (!run.empty() && limits.workflow_usd) {
    double held = run_spent_locked(run) + run_reserved_[run];
    if (held + usd > *limits.workflow_usd + eps) return over("workflow", held, *limits.workflow_usd);
  }
  reserved_ += usd;
  if (!run.empty()) run_reserved_[run] += usd;
  return reservation{next_id_++, usd, run};
}

void budget_ledger::release(const reservation& r) {
  std::lock_guard g(mu_);
  reserved_ -= r.usd;
  if (reserved_ < 0) reserved_ = 0;
  if (!r.run.empty() && (run_reserved_[r.run] -= r.usd) <= 1e-12) run_reserved_.erase(r.run);
}

status budget_ledger::settle(const reservation& r, const spend_record& a) {
  {
    std::lock_guard g(mu_);
    reserved_ -= r.usd;
    if (reserved_ < 0) reserved_ = 0;
    if (!r.run.empty() && (run_reserved_[r.run] -= r.usd) <= 1e-12) run_reserved_.erase(r.run);
    roll_over_locked(unix_now_ms());
    day_settled_ += a.usd;
    month_settled_ += a.usd;
    auto add = [&](const std::string& dim, const std::string& name) {
      if (name.empty()) return;
      auto key = day_key(day_, dim, name);
      auto [at, fresh] = today_rows_.try_emplace(key);
      auto& row = at->second;
      if (fresh)
        if (auto old = db_.get(key); old.ok() && *old) row = row_of(**old);
      row.usd += a.usd;
      row.calls += 1;
      row.input_tokens += static_cast<std::uint64_t>(a.input_tokens);
      row.output_tokens += static_cast<std::uint64_t>(a.output_tokens);
      unwritten_[key] = dump(row);
    };
    add("total", "all");
    add("model", a.model);
    add("agent", a.agent);
    add("workflow", a.workflow);
    if (!r.run.empty()) {
      double usd = run_spent_locked(r.run) + a.usd;
      run_settled_[r.run] = usd;
      unwritten_[run_prefix + r.run] = run_row(usd);
    }
    ++writes_pending_;
  }
  // Whoever gets the write lock writes every row changed so far, at its
  // newest value: concurrent settles share one LevelDB write, and one that
  // finds its rows written already is done.
  std::lock_guard w(write_mu_);
  std::map<std::string, std::string> rows;
  {
    std::lock_guard g(mu_);
    rows.swap(unwritten_);
  }
  status st = ok_v;
  if (!rows.empty()) {
    write_batch puts;
    for (const auto& [k, v] : rows) puts.put(k, v);
    st = db_.write(puts);
    if (!st) {
      std::lock_guard g(mu_);
      for (auto& [k, v] : rows) unwritten_.try_emplace(k, std::move(v));  // unless a newer value waits already
    }
  }
  --writes_pending_;
  return st;
}

spend_totals budget_ledger::totals(const std::string& run) const {
  std::lock_guard g(mu_);
  spend_totals t;
  t.day_usd = day_settled_ + reserved_;
  t.month_usd = month_settled_ + reserved_;
  if (!run.empty()) {
    auto it = run_reserved_.find(run);
    t.workflow_usd = run_spent_locked(run) + (it == run_reserved_.end() ? 0 : it->second);
  }
  return t;
}

result<std::map<std::string, spend_row>> budget_ledger::report(const std::string& dim, std::int64_t since_ms) const {
  if (dim != "model" && dim != "agent" && dim != "workflow" && dim != "total")
    return error{errc::bad_request, "cannot group spend by '" + dim + "'; use model, agent or workflow"};
  auto since = utc_day(since_ms);
  std::map<std::string, spend_row> out;
  auto s = db_.scan(day_prefix, [&](const std::string& k, const std::string& v) {
    // k = ctl/spend/d/<day>/<dim>/<name>
    auto rest = k.substr(day_prefix.size());
    if (rest.size() < 12 || rest.compare(0, 10, since) < 0) return true;
    auto slash = rest.find('/', 11);
    if (slash == std::string::npos || rest.compare(11, slash - 11, dim) != 0) return true;
    auto row = row_of(v);
    auto& acc = out[rest.substr(slash + 1)];
    acc.usd += row.usd;
    acc.calls += row.calls;
    acc.input_tokens += row.input_tokens;
    acc.output_tokens += row.output_tokens;
    return true;
  });
  if (!s) return s.err();
  return out;
}

}  // namespace keel::control
