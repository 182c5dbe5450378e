// Dead letters are few and read by people, so list() simply scans.
#include "storage/memory/dead_letters.hpp"

#include <algorithm>

#include "storage/key_number.hpp"
#include "storage/memory/record_store.hpp"

namespace keel::memory {
namespace {

const std::string seq_key = "dlq/meta/seq";
const std::string item_prefix = "dlq/item/";

dead_letter from_json(std::uint64_t id, const nlohmann::json& j) {
  dead_letter d;
  d.id = id;
  d.event = j.value("event", nlohmann::json());
  d.reason = j.value("reason", "");
  d.first_ms = j.value("first_ms", std::int64_t{0});
  d.last_ms = j.value("last_ms", std::int64_t{0});
  d.attempts = j.value("attempts", std::uint32_t{1});
  return d;
}

std::string encode(const dead_letter& d) {
  return encode_value({{"event", d.event}, {"reason", d.reason}, {"first_ms", d.first_ms}, {"last_ms", d.last_ms},
                       {"attempts", d.attempts}});
}

}  // namespace

dead_letters::dead_letters(store& db) : db_(db) {
  auto v = db_.get(seq_key);
  if (v.ok() && v->has_value()) seq_ = std::strtoull((*v)->c_str(), nullptr, 10);
  // Writers on different threads (a connector's rejects, the canonicalizer,
  // the inbox pump) stage ids in order but may commit out of order, leaving
  // the stored counter below an id that exists: start past the last entry.
  (void)db_.scan(item_prefix, [&](const std::string& k, const std::string&) {
    seq_ = std::max<std::uint64_t>(seq_, std::strtoull(k.c_str() + item_prefix.size(), nullptr, 10));
    return false;  // the last key is the largest id (zero-padded)
  }, true);
}

std::string dead_letters::key(std::uint64_t id) { return item_prefix + key_number(id); }

std::uint64_t dead_letters::stage_add(write_batch& b, const nlohmann::json& event, const std::string& reason, std::int64_t now_ms) {
  std::lock_guard lk(mu_);
  dead_letter d;
  d.id = ++seq_;
  d.event = event;
  d.reason = reason;
  d.first_ms = d.last_ms = now_ms;
  b.put(key(d.id), encode(d));
  b.put(seq_key, std::to_string(seq_));
  return d.id;
}

void dead_letters::stage_retry(write_batch& b, const dead_letter& d, const std::string& reason, std::int64_t now_ms) {
  dead_letter next = d;
  next.reason = reason;
  next.last_ms = now_ms;
  ++next.attempts;
  b.put(key(d.id), encode(next));
}

result<std::vector<dead_letter>> dead_letters::list(std::size_t limit, std::uint64_t after) const {
  std::vector<dead_letter> out;
  auto st = scan_decoded(db_, item_prefix, [&](const std::string& k, nlohmann::json& j) {
    auto id = std::strtoull(k.c_str() + item_prefix.size(), nullptr, 10);
    if (id > after) out.push_back(from_json(id, j));
    return out.size() < limit;
  });
  if (!st) return st.err();
  return out;
}

result<dead_letter> dead_letters::show(std::uint64_t id) const {
  auto k = key(id);
  auto raw = db_.get(k);
  if (!raw) return raw.err();
  if (!raw->has_value())
    return error{errc::not_found, "no dead letter " + std::to_string(id) + " (replayed or never existed); see `keelctl dlq list`"};
  auto j = decode_value(**raw, k);
  if (!j) return j.err();
  return from_json(id, *j);
}

result<std::size_t> dead_letters::count() const {
  std::size_t n = 0;
  auto st = db_.scan(item_prefix, [&](const std::string&, const std::string&) {
    ++n;
    return true;
  });
  if (!st) return st.err();
  return n;
}

}  // namespace keel::memory
