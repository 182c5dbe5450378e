#include "runtime/control/audit_log.hpp"

#include <cinttypes>
#include <map>

#include "runtime/base/crypto.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/json_text.hpp"
#include "storage/key_number.hpp"

namespace keel::control {
namespace {

const std::string entry_prefix = "ctl/audit/e/";
const std::string checkpoint_prefix = "ctl/audit/cp/";
const std::string head_key = "ctl/audit/head";
const std::string floor_key = "ctl/audit/floor";
const std::string genesis(64, '0');

std::string seq_text(std::uint64_t seq) { return key_number(seq, 16); }

std::optional<std::uint64_t> seq_of_key(const std::string& key, const std::string& prefix) {
  if (key.size() != prefix.size() + 16) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = prefix.size(); i < key.size(); ++i) {
    if (key[i] < '0' || key[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(key[i] - '0');
  }
  return v;
}

std::optional<audit_entry> parse_entry(const std::string& value) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  try {
    audit_entry e;
    e.seq = j.at("seq").get<std::uint64_t>();
    e.ts_ms = j.at("ts_ms").get<std::int64_t>();
    e.kind = j.at("kind").get<std::string>();
    e.actor = j.at("actor").get<std::string>();
    e.subject = j.at("subject").get<std::string>();
    e.detail = j.at("detail");
    e.trace_id = j.at("trace_id").get<std::string>();
    e.prev_hash = j.at("prev_hash").get<std::string>();
    e.hash = j.at("hash").get<std::string>();
    return e;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// An entry's JSON text, byte for byte what to_json().dump() writes, without
// building the tree (this runs for every audited task on a busy node).
// Members are written in key order, so "hash" falls between "detail" and
// "kind": head + tail is the text the hash covers, and the stored text is
// head + the hash member + tail.
struct entry_text {
  std::string head;  // {"actor":...,"detail":...
  std::string tail;  // ,"kind":...}
};

entry_text text_of(const audit_entry& e) {
  entry_text t;
  t.head = "{\"actor\":";
  append_json_string(t.head, e.actor);
  t.head += ",\"detail\":";
  append_json(t.head, e.detail);
  t.tail = ",\"kind\":";
  append_json_string(t.tail, e.kind);
  t.tail += ",\"prev_hash\":";
  append_json_string(t.tail, e.prev_hash);
  t.tail += ",\"seq\":" + std::to_string(e.seq) + ",\"subject\":";
  append_json_string(t.tail, e.subject);
  t.tail += ",\"trace_id\":";
  append_json_string(t.tail, e.trace_id);
  t.tail += ",\"ts_ms\":" + std::to_string(e.ts_ms) + "}";
  return t;
}

std::string hash_of(const audit_entry& e, const entry_text& t) {
  return sha256_hex("keel-audit-v1\n" + e.prev_hash + "\n" + t.head + t.tail);
}

}  // namespace

nlohmann::json audit_entry::to_json() const {
  return {{"seq", seq},         {"ts_ms", ts_ms},       {"kind", kind},
          {"actor", actor},     {"subject", subject},   {"detail", detail},
          {"trace_id", trace_id}, {"prev_hash", prev_hash}, {"hash", hash}};
}

std::string audit_log::entry_key(std::uint64_t seq) { return entry_prefix + seq_text(seq); }

std::string audit_log::compute_hash(const audit_entry& e) { return hash_of(e, text_of(e)); }

result<std::unique_ptr<audit_log>> audit_log::open(store& db, std::shared_ptr<const redactor> redact,
                                                   std::uint64_t checkpoint_every) {
  std::unique_ptr<audit_log> log(new audit_log(db, std::move(redact), checkpoint_every));
  log->last_hash_ = genesis;
  auto head = db.get(head_key);
  if (!head) return head.err();
  if (*head) {
    auto j = nlohmann::json::parse(**head, nullptr, false);
    if (!j.is_object() || !j.contains("seq") || !j.contains("hash"))
      return error{errc::forbidden, "the audit log's head record is damaged; run `keelctl audit verify` and restore "
                                    "the data dir from a backup"};
    log->last_seq_ = j.value("seq", std::uint64_t{0});
    log->last_hash_ = j.value("hash", genesis);
  }
  auto floor = db.get(floor_key);
  if (!floor) return floor.err();
  if (*floor) {
    auto j = nlohmann::json::parse(**floor, nullptr, false);
    if (j.is_object()) log->floor_seq_ = j.value("seq", std::uint64_t{0});
  }
  return log;
}

result<audit_entry> audit_log::append(const std::string& kind, const std::string& actor, const std::string& subject,
                                      nlohmann::json detail, const std::string& trace_id, bool sync) {
  std::vector<audit_request> one;
  one.push_back({kind, actor, subject, std::move(detail), trace_id});
  auto r = append_many(std::move(one), sync);
  if (!r) return r.err();
  return std::move(r->front());
}

result<std::vector<audit_entry>> audit_log::append_many(std::vector<audit_request> reqs, bool sync) {
  std::vector<audit_entry> out;
  out.reserve(reqs.size());
  auto now = unix_now_ms();
  for (auto& r : reqs) {
    audit_entry e;
    e.ts_ms = now;
    e.kind = std::move(r.kind);
    e.actor = std::move(r.actor);
    e.subject = std::move(r.subject);
    e.detail = std::move(r.detail);
    e.trace_id = std::move(r.trace_id);
    if (redact_ && redact_->size() > 0) {
      e.actor = redact_->redact(e.actor);
      e.subject = redact_->redact(e.subject);
      e.detail = redact_->redact_json(e.detail);
    }
    out.push_back(std::move(e));
  }
  if (out.empty()) return out;
  std::lock_guard g(mu_);
  write_batch puts;
  puts.reserve(out.size() + 2);
  auto seq = last_seq_;
  auto hash = last_hash_;
  for (auto& e : out) {
    e.seq = ++seq;
    e.prev_hash = hash;
    // The hash and the stored text, from one serialisation.
    auto text = text_of(e);
    e.hash = hash_of(e, text);
    hash = e.hash;
    puts.put(entry_key(e.seq), text.head + ",\"hash\":\"" + e.hash + "\"" + text.tail);
    if (e.seq % every_ == 0)
      puts.put(checkpoint_prefix + seq_text(e.seq),
               nlohmann::json{{"seq", e.seq}, {"hash", e.hash}, {"ts_ms", e.ts_ms}}.dump());
  }
  puts.put(head_key, nlohmann::json{{"seq", seq}, {"hash", hash}}.dump());
  if (auto s = db_.write(puts, sync); !s) return s.err();
  last_seq_ = seq;
  last_hash_ = hash;
  return out;
}

std::uint64_t audit_log::size() const {
  std::lock_guard g(mu_);
  return last_seq_;
}

status audit_log::for_each(std::uint64_t from_seq, const std::function<bool(const audit_entry&)>& fn) const {
  status bad = ok_v;
  auto s = db_.scan_from(entry_prefix, entry_key(from_seq), [&](const std::string& k, const std::string& v) {
    auto e = parse_entry(v);
    if (!e) {
      bad = error{errc::io, "audit entry " + k.substr(entry_prefix.size()) + " is unreadable; run `keelctl audit verify`"};
      return false;
    }
    return fn(*e);
  });
  if (!s) return s;
  return bad;
}

result<std::vector<audit_entry>> audit_log::tail(std::size_t n, const std::string& kind, std::int64_t since_ms) const {
  std::vector<audit_entry> out;
  status bad = ok_v;
  auto s = db_.scan(
      entry_prefix,
      [&](const std::string& k, const std::string& v) {
        if (out.size() >= n) return false;
        auto e = parse_entry(v);
        if (!e) {
          bad = error{errc::io, "audit entry " + k.substr(entry_prefix.size()) + " is unreadable; run `keelctl audit verify`"};
          return false;
        }
        if (e->ts_ms < since_ms) return false;  // entries are appended in time order: the rest is older
        if (kind.empty() || e->kind == kind) out.push_back(std::move(*e));
        return true;
      },
      true);
  if (!s) return s.err();
  if (!bad) return bad.err();
  std::reverse(out.begin(), out.end());
  return out;
}

result<audit_verify_report> audit_log::verify() const {
  std::map<std::uint64_t, std::string> checkpoints;
  auto cs = db_.scan(checkpoint_prefix, [&](const std::string& k, const std::string& v) {
    auto j = nlohmann::json::parse(v, nullptr, false);
    if (auto seq = seq_of_key(k, checkpoint_prefix); seq && j.is_object()) checkpoints[*seq] = j.value("hash", "");
    return true;
  });
  if (!cs) return cs.err();
  std::uint64_t head_seq = 0;
  std::string head_hash = genesis;
  auto head = db_.get(head_key);
  if (!head) return head.err();
  if (*head) {
    auto j = nlohmann::json::parse(**head, nullptr, false);
    if (j.is_object()) head_seq = j.value("seq", std::uint64_t{0}), head_hash = j.value("hash", "");
  }

  std::uint64_t floor_seq = 0;
  std::string floor_hash = genesis;
  auto floor = db_.get(floor_key);
  if (!floor) return floor.err();
  if (*floor) {
    auto j = nlohmann::json::parse(**floor, nullptr, false);
    if (!j.is_object()) return audit_verify_report{false, 0, 1, "the retention floor record is unreadable: its bytes were changed", 0};
    floor_seq = j.value("seq", std::uint64_t{0}), floor_hash = j.value("hash", "");
  }

  audit_verify_report rep;
  rep.pruned_through = floor_seq;
  auto broken = [&](std::uint64_t seq, std::string what) {
    rep.ok = false;
    rep.first_bad_seq = seq;
    rep.problem = std::move(what);
    return false;
  };
  std::uint64_t expected = floor_seq + 1;
  std::string prev = floor_hash;
  auto s = db_.scan(entry_prefix, [&](const std::string& k, const std::string& v) {
    auto n = std::to_string(expected);
    auto at = seq_of_key(k, entry_prefix);
    if (!at) return broken(expected, "a record with a malformed key follows entry " + std::to_string(expected - 1));
    if (*at != expected)
      return broken(expected, "entry " + n + " is missing (deleted): the next stored entry is " + std::to_string(*at));
    auto e = parse_entry(v);
    if (!e) return broken(expected, "entry " + n + " is unreadable: its bytes were changed");
    if (e->seq != expected)
      return broken(expected, "position " + n + " holds entry " + std::to_string(e->seq) +
                                  ": entries were reordered or moved");
    if (compute_hash(*e) != e->hash)
      return broken(expected, "entry " + n + " was altered: its content no longer matches its hash");
    if (e->prev_hash != prev)
      return broken(expected, expected == floor_seq + 1 && floor_seq
                                  ? "entry " + n + " does not link to the retention floor (entry " +
                                        std::to_string(floor_seq) + "): the floor or the entry was changed"
                                  : "entry " + n + " does not link to entry " + std::to_string(expected - 1) +
                                        ": an entry was replaced or the entries were reordered");
    if (auto cp = checkpoints.find(expected); cp != checkpoints.end() && cp->second != e->hash)
      return broken(expected, "entry " + n + " differs from the checkpoint taken at it: the chain was rewritten");
    prev = e->hash;
    ++rep.entries_checked;
    ++expected;
    return true;
  });
  if (!s) return s.err();
  if (rep.ok && head_seq >= expected)
    broken(expected, "entry " + std::to_string(expected) + " is missing (deleted): the head says the log ends at " +
                         std::to_string(head_seq));
  else if (rep.ok && head_seq + 1 < expected)
    broken(head_seq + 1, "entries after " + std::to_string(head_seq) + " were added behind the log's back");
  else if (rep.ok && head_seq && head_hash != prev)
    broken(head_seq, "entry " + std::to_string(head_seq) + " does not match the head record");
  return rep;
}

std::uint64_t audit_log::pruned_through() const {
  std::lock_guard g(mu_);
  return floor_seq_;
}

result<std::uint64_t> audit_log::prune_before(std::int64_t cutoff_ms, std::size_t max_intervals) {
  std::lock_guard g(mu_);
  // The checkpoints in order: each is a place the chain may start from.
  std::vector<std::pair<std::uint64_t, std::string>> cps;
  auto cs = db_.scan(checkpoint_prefix, [&](const std::string& k, const std::string& v) {
    auto j = nlohmann::json::parse(v, nullptr, false);
    if (auto seq = seq_of_key(k, checkpoint_prefix); seq && j.is_object() && *seq > floor_seq_)
      cps.emplace_back(*seq, j.value("hash", ""));
    return true;
  });
  if (!cs) return cs.err();
  std::uint64_t removed = 0;
  std::size_t intervals = 0;
  for (const auto& [seq, hash] : cps) {
    if (seq >= last_seq_ || intervals++ >= max_intervals) break;  // the newest entry always stays: the head must have something to match
    auto raw = db_.get(entry_key(seq));
    if (!raw) return raw.err();
    if (!*raw) break;
    auto e = parse_entry(**raw);
    if (!e || e->ts_ms >= cutoff_ms || e->hash != hash) break;  // young enough, or a damaged chain: verify says so
    write_batch b;
    for (auto s = floor_seq_ + 1; s <= seq; ++s) b.del(entry_key(s));
    b.del(checkpoint_prefix + seq_text(seq));
    b.put(floor_key, nlohmann::json{{"seq", seq}, {"hash", hash}, {"pruned_ms", unix_now_ms()}}.dump());
    if (auto w = db_.write(b); !w) return w.err();
    removed += seq - floor_seq_;
    floor_seq_ = seq;
  }
  return removed;
}

}  // namespace keel::control
