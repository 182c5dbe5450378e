#include "storage/workflow_store.hpp"

#include <cstdio>

namespace keel {

namespace wfkey {
std::string hist(const std::string& id, std::uint64_t seq) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%012llu", static_cast<unsigned long long>(seq));
  return "wf/hist/" + id + "/" + buf;
}
std::string hist_prefix(const std::string& id) { return "wf/hist/" + id + "/"; }
std::string inst(const std::string& id) { return "wf/inst/" + id; }
std::string active(const std::string& id) { return "wf/active/" + id; }
std::string ended(std::int64_t ended_ms, const std::string& id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%015lld", static_cast<long long>(ended_ms));
  return std::string("wf/ended/") + buf + "/" + id;
}
std::string idem(const std::string& key) { return "wf/idem/" + key; }
std::string start(const std::string& key) { return "wf/start/" + key; }
}  // namespace wfkey

std::string encode_event(const nlohmann::json& event) {
  auto bytes = nlohmann::json::to_msgpack(event);
  return std::string(bytes.begin(), bytes.end());
}

result<nlohmann::json> decode_event(const std::string& bytes) {
  try {
    return nlohmann::json::from_msgpack(bytes);
  } catch (const std::exception& ex) {
    return error{errc::io, std::string("a stored workflow event is corrupt: ") + ex.what()};
  }
}

status workflow_store::commit(const wf_batch& batch, bool sync) {
  std::vector<store::write_op> ops;
  ops.reserve(batch.size());
  for (const auto& op : batch.ops()) ops.push_back({&op.key, &op.value, op.is_delete});
  return db_.apply(ops, sync);
}

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
