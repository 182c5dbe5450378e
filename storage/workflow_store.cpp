#include "storage/workflow_store.hpp"

#include <algorithm>

#include "runtime/base/msgpack_json.hpp"
#include "storage/key_number.hpp"

namespace keel {

namespace wfkey {
std::string hist(const std::string& id, std::uint64_t seq) {
  std::string key = "wf/hist/" + id + "/";
  append_key_number(key, seq, 12);
  return key;
}
std::string hist_prefix(const std::string& id) { return "wf/hist/" + id + "/"; }
std::string inst(const std::string& id) { return "wf/inst/" + id; }
std::string active(const std::string& id) { return "wf/active/" + id; }
// A time before 1970 (never written: ended_ms is the node's clock) sorts
// first, as it would be pruned first.
std::string ended(std::int64_t ended_ms, const std::string& id) {
  std::string key = "wf/ended/";
  append_key_number(key, static_cast<unsigned long long>(std::max<std::int64_t>(ended_ms, 0)), 15);
  return key + "/" + id;
}
std::string idem(const std::string& key) { return "wf/idem/" + key; }
std::string start(const std::string& key) { return "wf/start/" + key; }
std::string sched(const std::string& workflow) { return "wf/sched/" + workflow; }
}  // namespace wfkey

std::string encode_event(const nlohmann::json& event) { return json_to_msgpack(event); }

result<nlohmann::json> decode_event(const std::string& bytes) {
  auto event = json_from_msgpack(bytes);
  if (!event) return error{errc::io, "a stored workflow event is corrupt: " + event.err().message};
  return event;
}

status workflow_store::commit(const write_batch& batch, bool sync) { return db_.write(batch, sync); }

result<std::optional<nlohmann::json>> workflow_store::get_json(const std::string& key) const {
  auto v = db_.get(key);
  if (!v) return v.err();
  if (!v->has_value()) return std::optional<nlohmann::json>{};
  try {
    return std::optional<nlohmann::json>(nlohmann::json::parse(**v));
  } catch (const std::exception& ex) {
    return error{errc::io, "stored value of '" + key + "' is not JSON: " + ex.what()};
  }
}

result<std::vector<std::string>> workflow_store::active_ids() const {
  std::vector<std::string> ids;
  const std::string prefix = "wf/active/";
  auto s = db_.scan(prefix, [&](const std::string& k, const std::string&) {
    ids.push_back(k.substr(prefix.size()));
    return true;
  });
  if (!s) return s.err();
  return ids;
}

result<std::vector<nlohmann::json>> workflow_store::history(const std::string& id) const {
  std::vector<nlohmann::json> events;
  error bad;
  auto s = db_.scan(wfkey::hist_prefix(id), [&](const std::string&, const std::string& v) {
    auto e = decode_event(v);
    if (!e) {
      bad = e.err();
      return false;
    }
    events.push_back(std::move(e.value()));
    return true;
  });
  if (!s) return s.err();
  if (!bad.code.empty()) return bad;
  return events;
}

result<std::vector<nlohmann::json>> workflow_store::summaries(std::size_t limit) const {
  std::vector<nlohmann::json> out;
  auto s = db_.scan("wf/inst/", [&](const std::string&, const std::string& v) {
    try {
      out.push_back(nlohmann::json::parse(v));
    } catch (...) {
    }
    return true;
  });
  if (!s) return s.err();
  std::sort(out.begin(), out.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("created_ms", std::int64_t{0}) > b.value("created_ms", std::int64_t{0});
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

result<std::vector<std::string>> workflow_store::ended_before(std::int64_t cutoff_ms, std::size_t limit) const {
  std::vector<std::string> out;
  const std::string prefix = "wf/ended/";
  auto s = db_.scan(prefix, [&](const std::string& k, const std::string&) {
    auto ms = std::stoll(k.substr(prefix.size(), 15));
    if (ms > cutoff_ms || out.size() >= limit) return false;
    out.push_back(k.substr(prefix.size() + 16));
    return true;
  });
  if (!s) return s.err();
  return out;
}

result<std::vector<std::string>> workflow_store::keys_with_prefix(const std::string& prefix) const {
  std::vector<std::string> out;
  auto s = db_.scan(prefix, [&](const std::string& k, const std::string&) {
    out.push_back(k);
    return true;
  });
  if (!s) return s.err();
  return out;
}

}  // namespace keel
