#include "adapters/connectors/event_inbox.hpp"

#include <set>

#include "adapters/connectors/record_mapping.hpp"
#include "runtime/base/duration.hpp"
#include "storage/key_number.hpp"
#include "storage/write_batch.hpp"

namespace keel::connectors {

namespace {
const std::string inbox_prefix = "conn/inbox/";
}  // namespace

std::string event_inbox::seen_key(const std::string& source, const std::string& id) {
  return "conn/seen/" + source + "/" + id;
}

result<std::unique_ptr<event_inbox>> event_inbox::open(store& db, memory::dead_letters& dlq) {
  std::unique_ptr<event_inbox> in(new event_inbox(db, dlq));
  auto s = db.scan(
      inbox_prefix,
      [&](const std::string& k, const std::string&) {
        in->seq_ = std::stoull(k.substr(inbox_prefix.size()));
        return false;
      },
      true);
  if (!s) return s.err();
  return in;
}

result<commit_counts> event_inbox::commit(const inbox_batch& b, connector_state* state, bool sync) {
  for (const auto& e : b.events)
    if (auto s = check_event(e); !s) return s.err();
  std::unique_lock lock(mu_);
  write_batch w;
  commit_counts n;
  std::set<std::string> in_batch;
  std::uint64_t seq = seq_;
  for (std::size_t i = 0; i < b.events.size(); ++i) {
    const auto& e = b.events[i];
    auto key = seen_key(e["source"].get<std::string>(), e["id"].get<std::string>());
    auto had = db_.get(key);
    if (!had) return had.err();
    if (had.value() || !in_batch.insert(key).second) {
      ++n.duplicates;
      continue;
    }
    w.put(key, i < b.tags.size() ? b.tags[i] : std::string());
    w.put(inbox_prefix + key_number(++seq), e.dump());
    ++n.accepted;
  }
  auto t = unix_now_ms();
  for (const auto& [raw, reason] : b.rejects) {
    dlq_.stage_add(w, raw, reason, t);
    ++n.dead_lettered;
  }
  connector_state next;
  if (state != nullptr) {
    next = *state;
    next.records_in += b.records_in;
    next.events_out += n.accepted;
    next.duplicates += n.duplicates;
    next.dead_lettered += n.dead_lettered;
    w.put(state_key(next.name), next.to_json().dump());
  }
  if (!w.empty()) {
    if (auto s = db_.write(w, sync); !s) return s.err();
  }
  seq_ = seq;
  if (state != nullptr) *state = std::move(next);
  if (n.accepted > 0) {
    ++generation_;
    cv_.notify_all();
  }
  return n;
}

result<std::optional<std::string>> event_inbox::seen(const std::string& source, const std::string& id) const {
  return db_.get(seen_key(source, id));
}

result<std::vector<std::pair<std::uint64_t, nlohmann::json>>> event_inbox::peek(std::size_t limit) const {
  std::vector<std::pair<std::uint64_t, nlohmann::json>> out;
  auto s = db_.scan(inbox_prefix, [&](const std::string& k, const std::string& v) {
    auto j = nlohmann::json::parse(v, nullptr, false);
    if (!j.is_discarded()) out.emplace_back(std::stoull(k.substr(inbox_prefix.size())), std::move(j));
    return out.size() < limit;
  });
  if (!s) return s.err();
  return out;
}

status event_inbox::ack(std::uint64_t seq) {
  std::string key = inbox_prefix + key_number(seq);
  write_batch w;
  w.del(key);
  return db_.write(w, false);
}

result<std::uint64_t> event_inbox::dead_letter(std::uint64_t seq, const nlohmann::json& event,
                                               const std::string& reason) {
  write_batch w;
  w.del(inbox_prefix + key_number(seq));
  auto id = dlq_.stage_add(w, event, reason, unix_now_ms());
  if (auto s = db_.write(w, false); !s) return s.err();
  return id;
}

bool event_inbox::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  auto gen = generation_;
  return cv_.wait_for(lock, timeout, [&] { return generation_ != gen; });
}

void event_inbox::notify_all() {
  std::lock_guard lock(mu_);
  ++generation_;
  cv_.notify_all();
}

}  // namespace keel::connectors
