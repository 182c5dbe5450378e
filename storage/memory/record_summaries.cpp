// The change-feed follower that keeps one summary item per record. Feed
// entries are numbered without gaps, so catching up is point reads of
// rec/log/<cursor+1 ..>, never a scan of the whole feed. Several entries
// of one record in a row cost one summary write: the later ones find the
// summary already matching the newest version and only move the cursor.
#include "storage/memory/record_summaries.hpp"

#include <algorithm>
#include <cctype>

#include "storage/key_number.hpp"

namespace keel::memory {
namespace {

const std::string cursor_key = "mem/meta/summary_feed_seq";
constexpr std::size_t max_summary = 60 * 1024;  // under memory's 64 KiB text limit

std::string ref_prefix(const std::string& type, const std::string& id) { return type + "/" + id + "@"; }

// Memory sources are [a-z0-9_.:-]; a record source outside that is still
// named in the text, and the item says "records".
std::string memory_source(const std::string& s) {
  bool ok = !s.empty() && s.size() <= 64 &&
            std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-'; });
  return ok ? s : "records";
}

}  // namespace

record_summaries::record_summaries(store& db, const record_store& records, item_store& memory)
    : db_(db), records_(records), memory_(memory) {}

memory_item record_summaries::summary_item(const record& r) {
  // "customer c_42: email ana@example.com; plan pro" - field names with
  // their underscores as spaces, so "customer email" matches as words.
  std::string text = r.type + " " + r.id + ":";
  bool first = true;
  for (auto it = r.fields.begin(); it != r.fields.end() && text.size() < max_summary; ++it) {
    std::string name = it.key();
    std::replace(name.begin(), name.end(), '_', ' ');
    text += (first ? " " : "; ") + name + " " + (it->is_string() ? it->get<std::string>() : it->dump());
    first = false;
  }
  if (text.size() > max_summary) text.resize(max_summary);
  memory_item it;
  it.text = std::move(text);
  it.kind = "record";
  it.about = r.type + ":" + r.id;
  it.source = memory_source(r.source);
  it.source_event = r.event_id;
  it.record_ref = ref_prefix(r.type, r.id) + std::to_string(r.version);
  it.created_ms = r.valid_from_ms;
  return it;
}

std::vector<std::uint64_t> record_summaries::summary_ids(const std::string& type, const std::string& id) const {
  std::vector<std::uint64_t> candidates;
  {
    memory_filter f;
    f.about = type + ":" + id;
    f.kinds = {"record"};
    f.include_expired = true;
    auto v = memory_.read();
    auto fn = v.compile(f);
    for (auto m : *v.about_members(f))
      if (fn.allowed(m)) candidates.push_back(m);
  }  // the read lock goes before any write
  std::vector<std::uint64_t> out;
  const auto prefix = ref_prefix(type, id);
  for (auto m : candidates)
    if (auto it = memory_.get(m); it && it->has_value() && (*it)->record_ref.starts_with(prefix)) out.push_back(m);
  std::sort(out.begin(), out.end());
  return out;
}

result<std::optional<memory_item>> record_summaries::summary_of(const std::string& type, const std::string& id) const {
  auto ids = summary_ids(type, id);
  if (ids.empty()) return std::optional<memory_item>{};
  return memory_.get(ids.front());
}

result<bool> record_summaries::sync(const std::string& type, const std::string& id,
                                    const std::pair<std::string, std::string>& cursor) {
  auto head = records_.head(type, id);
  if (!head) return head.err();
  auto existing = summary_ids(type, id);
  const std::vector<std::pair<std::string, std::string>> also{cursor};
  if (!head->has_value() || (*head)->invalidated) {  // purged or forgotten: no summary
    for (auto m : existing)
      if (auto st = memory_.forget(m, also); !st && st.err().code != errc::not_found) return st.err();
    return !existing.empty();
  }
  memory_item want = summary_item(**head);
  // Duplicates cannot arise from one follower; drop any all the same.
  for (std::size_t i = 1; i < existing.size(); ++i)
    if (auto st = memory_.forget(existing[i], also); !st && st.err().code != errc::not_found) return st.err();
  if (!existing.empty()) {
    auto cur = memory_.get(existing.front());
    if (!cur) return cur.err();
    if (cur->has_value() && (*cur)->record_ref == want.record_ref && (*cur)->text == want.text) return existing.size() > 1;
    auto st = memory_.replace(existing.front(), want, also);
    if (st) return true;
    if (st.err().code != errc::not_found) return st.err();
  }
  auto added = memory_.add(std::move(want), also);
  if (!added) return added.err();
  return true;
}

result<std::size_t> record_summaries::catch_up() {
  if (!cursor_) {
    auto v = db_.get(cursor_key);
    if (!v) return v.err();
    cursor_ = v->has_value() ? std::strtoull((*v)->c_str(), nullptr, 10) : 0;
  }
  const std::uint64_t end = records_.feed_seq();
  const std::uint64_t start = *cursor_;
  std::size_t changed = 0;
  bool unsaved = false;  // the cursor moved past entries that needed no write
  while (*cursor_ < end) {
    const std::uint64_t seq = *cursor_ + 1;
    const std::string key = "rec/log/" + key_number(seq);
    auto raw = db_.get(key);
    if (!raw) return raw.err();
    bool wrote = false;
    if (raw->has_value()) {
      auto entry = decode_feed(**raw, key);
      if (!entry) return entry.err();
      auto r = sync(entry->type, entry->id, {cursor_key, std::to_string(seq)});
      if (!r) {
        if (unsaved) (void)db_.put(cursor_key, std::to_string(*cursor_));
        return r.err();
      }
      wrote = *r;
    }
    changed += wrote;
    unsaved = !wrote;
    cursor_ = seq;
  }
  if (unsaved && *cursor_ != start)
    if (auto st = db_.put(cursor_key, std::to_string(*cursor_)); !st) return st.err();
  return changed;
}

}  // namespace keel::memory
