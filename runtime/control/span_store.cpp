#include "runtime/control/span_store.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <functional>
#include <map>

#include "runtime/base/crypto.hpp"
#include "runtime/base/hex.hpp"
#include "runtime/base/json_text.hpp"
#include "storage/key_number.hpp"

namespace keel::control {
namespace {

const std::string trace_prefix = "ctl/span/t/";
const std::string age_prefix = "ctl/span/age/";

std::string age_key(const span& s) {
  std::string key = age_prefix;
  append_key_number(key, static_cast<unsigned long long>(s.start_us < 0 ? 0 : s.start_us), 20);
  return key + "/" + s.trace_id + "/" + s.span_id;
}

bool safe_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (c == '/' || static_cast<unsigned char>(c) < 0x21) return false;
  return true;
}

}  // namespace

std::int64_t unix_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json span::to_json() const {
  return {{"trace_id", trace_id}, {"span_id", span_id}, {"parent_span_id", parent_span_id},
          {"name", name},         {"start_us", start_us}, {"end_us", end_us},
          {"attributes", attributes}, {"error", error}, {"status_message", status_message}};
}

std::string span::to_text() const {
  // The members in key order, as dump() writes an object.
  std::string out = "{\"attributes\":";
  append_json(out, attributes);
  out += ",\"end_us\":" + std::to_string(end_us);
  out += error ? ",\"error\":true,\"name\":" : ",\"error\":false,\"name\":";
  append_json_string(out, name);
  out += ",\"parent_span_id\":";
  append_json_string(out, parent_span_id);
  out += ",\"span_id\":";
  append_json_string(out, span_id);
  out += ",\"start_us\":" + std::to_string(start_us) + ",\"status_message\":";
  append_json_string(out, status_message);
  out += ",\"trace_id\":";
  append_json_string(out, trace_id);
  out += '}';
  return out;
}

span span::from_json(const nlohmann::json& j) {
  span s;
  s.trace_id = j.value("trace_id", "");
  s.span_id = j.value("span_id", "");
  s.parent_span_id = j.value("parent_span_id", "");
  s.name = j.value("name", "");
  s.start_us = j.value("start_us", std::int64_t{0});
  s.end_us = j.value("end_us", std::int64_t{0});
  s.attributes = j.value("attributes", nlohmann::json::object());
  s.error = j.value("error", false);
  s.status_message = j.value("status_message", "");
  return s;
}

result<std::unique_ptr<span_store>> span_store::open(store& db, span_store_options opts,
                                                     std::shared_ptr<const redactor> redact) {
  std::unique_ptr<span_store> st(new span_store(db, opts, std::move(redact)));
  auto s = db.scan(age_prefix, [&](const std::string&, const std::string&) { return ++st->count_, true; });
  if (!s) return s.err();
  return st;
}

status span_store::record(span s) {
  std::vector<span> one;
  one.push_back(std::move(s));
  return record_many(std::move(one));
}

status span_store::record_many(std::vector<span> spans) {
  write_batch puts;
  puts.reserve(spans.size() * 2);
  std::size_t bad = 0;
  bool redacting = redact_ && redact_->size() > 0;
  for (auto& s : spans) {
    if (!safe_id(s.trace_id) || !safe_id(s.span_id)) {
      ++bad;
      continue;
    }
    if (redacting) {
      s.name = redact_->redact(s.name);
      s.attributes = redact_->redact_json(s.attributes);
      s.status_message = redact_->redact(s.status_message);
    }
    puts.put(trace_prefix + s.trace_id + "/" + s.span_id, s.to_text());
    puts.put(age_key(s), "");
  }
  if (!puts.empty()) {
    std::lock_guard g(mu_);
    if (auto w = db_.write(puts); !w) return w;
    count_ += puts.size() / 2;
    // Prune in chunks of 1% so the hot path does not delete on every record.
    if (count_ > opts_.max_spans) {
      std::size_t removed = 0;
      if (auto p = drop_oldest_locked(count_ - opts_.max_spans + opts_.max_spans / 100, 0, removed); !p) return p;
    }
  }
  if (bad) return error{errc::bad_request, std::to_string(bad) + " span(s) without a trace id or span id (no '/' or spaces) were not stored"};
  return ok_v;
}

status span_store::drop_oldest_locked(std::size_t n, std::int64_t older_than_us, std::size_t& removed) {
  std::vector<std::string> keys;
  auto s = db_.scan(age_prefix, [&](const std::string& k, const std::string&) {
    bool too_many = keys.size() / 2 < n;
    bool too_old = std::strtoll(k.c_str() + age_prefix.size(), nullptr, 10) < older_than_us;
    if (!too_many && !too_old) return false;
    auto rest = k.substr(age_prefix.size() + 21);  // <trace>/<span>
    keys.push_back(k);
    keys.push_back(trace_prefix + rest);
    return true;
  });
  if (!s) return s;
  write_batch ops;
  for (const auto& k : keys) ops.del(k);
  if (auto w = db_.write(ops, false); !w) return w;
  removed = keys.size() / 2;
  count_ -= std::min(count_, removed);
  return ok_v;
}

result<std::size_t> span_store::prune(std::int64_t now_ms) {
  std::lock_guard g(mu_);
  std::size_t removed = 0;
  auto cutoff_us = (now_ms - opts_.max_age.count()) * 1000;
  auto s = drop_oldest_locked(count_ > opts_.max_spans ? count_ - opts_.max_spans : 0, cutoff_us, removed);
  if (!s) return s.err();
  return removed;
}

std::size_t span_store::size() const {
  std::lock_guard g(mu_);
  return count_;
}

result<std::vector<span>> span_store::trace(const std::string& trace_id) const {
  std::vector<span> out;
  if (!safe_id(trace_id)) return out;
  auto s = db_.scan(trace_prefix + trace_id + "/", [&](const std::string&, const std::string& v) {
    auto j = nlohmann::json::parse(v, nullptr, false);
    if (j.is_object()) out.push_back(span::from_json(j));
    return true;
  });
  if (!s) return s.err();
  std::sort(out.begin(), out.end(), [](const span& a, const span& b) { return a.start_us < b.start_us; });
  return out;
}

std::vector<span_node> build_tree(std::vector<span> spans) {
  std::sort(spans.begin(), spans.end(), [](const span& a, const span& b) { return a.start_us < b.start_us; });
  std::map<std::string, std::vector<std::size_t>> children;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < spans.size(); ++i) index[spans[i].span_id] = i;
  std::vector<std::size_t> roots;
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const auto& p = spans[i].parent_span_id;
    if (!p.empty() && index.count(p) && p != spans[i].span_id) children[p].push_back(i);
    else roots.push_back(i);
  }
  std::function<span_node(std::size_t, int)> make = [&](std::size_t i, int depth) {
    span_node n{spans[i], false, {}};
    if (depth < 256)  // a cycle in hostile data cannot recurse forever
      for (auto c : children[spans[i].span_id]) n.children.push_back(make(c, depth + 1));
    return n;
  };
  std::vector<span_node> out;
  for (auto r : roots) {
    out.push_back(make(r, 0));
    out.back().orphan = !spans[r].parent_span_id.empty();
  }
  return out;
}

std::string render_tree(const std::vector<span_node>& roots) {
  std::string out;
  std::function<void(const span_node&, int)> walk = [&](const span_node& n, int depth) {
    out += std::string(static_cast<std::size_t>(depth) * 2, ' ') + n.s.name;
    char buf[64];
    std::snprintf(buf, sizeof buf, "  %.1fms", static_cast<double>(n.s.end_us - n.s.start_us) / 1000.0);
    out += buf;
    const auto& a = n.s.attributes;
    if (a.contains(genai::request_model)) out += "  model=" + a[genai::request_model].dump();
    if (a.contains(genai::input_tokens) && a.contains(genai::output_tokens))
      out += "  tokens=" + a[genai::input_tokens].dump() + "/" + a[genai::output_tokens].dump();
    if (a.contains("keel.cost_usd")) out += "  cost=$" + a["keel.cost_usd"].dump();
    if (n.s.error) out += "  ERROR " + n.s.status_message;
    if (n.orphan) out += "  (parent " + n.s.parent_span_id + " not recorded)";
    out += "\n";
    for (const auto& c : n.children) walk(c, depth + 1);
  };
  for (const auto& r : roots) walk(r, 0);
  return out;
}

namespace {

bool is_hex_id(const std::string& s, std::size_t len) { return s.size() == len && is_hex(s); }

std::string otlp_id(const std::string& id, std::size_t hex_len) {
  if (id.empty()) return "";
  return is_hex_id(id, hex_len) ? id : sha256_hex(id).substr(0, hex_len);
}

nlohmann::json otlp_value(const nlohmann::json& v) {
  if (v.is_boolean()) return {{"boolValue", v.get<bool>()}};
  if (v.is_number_integer()) return {{"intValue", std::to_string(v.get<std::int64_t>())}};
  if (v.is_number()) return {{"doubleValue", v.get<double>()}};
  if (v.is_string()) return {{"stringValue", v.get<std::string>()}};
  if (v.is_array()) {
    auto vals = nlohmann::json::array();
    for (const auto& e : v) vals.push_back(otlp_value(e));
    return {{"arrayValue", {{"values", vals}}}};
  }
  return {{"stringValue", v.dump()}};
}

}  // namespace

nlohmann::json to_otlp_json(const std::vector<span>& spans, const std::string& service_name) {
  auto out_spans = nlohmann::json::array();
  for (const auto& s : spans) {
    auto attrs = nlohmann::json::array();
    for (auto it = s.attributes.begin(); it != s.attributes.end(); ++it)
      attrs.push_back({{"key", it.key()}, {"value", otlp_value(it.value())}});
    if (!is_hex_id(s.trace_id, 32)) attrs.push_back({{"key", "keel.trace_id"}, {"value", {{"stringValue", s.trace_id}}}});
    if (!is_hex_id(s.span_id, 16)) attrs.push_back({{"key", "keel.span_id"}, {"value", {{"stringValue", s.span_id}}}});
    nlohmann::json o = {{"traceId", otlp_id(s.trace_id, 32)},
                        {"spanId", otlp_id(s.span_id, 16)},
                        {"name", s.name},
                        {"kind", s.attributes.contains(genai::operation_name) ? 3 : 1},  // CLIENT : INTERNAL
                        {"startTimeUnixNano", std::to_string(s.start_us * 1000)},
                        {"endTimeUnixNano", std::to_string(s.end_us * 1000)},
                        {"attributes", attrs},
                        {"status", {{"code", s.error ? 2 : 1}}}};
    if (!s.parent_span_id.empty()) o["parentSpanId"] = otlp_id(s.parent_span_id, 16);
    if (s.error) o["status"]["message"] = s.status_message;
    out_spans.push_back(std::move(o));
  }
  return {{"resourceSpans",
           {{{"resource", {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", service_name}}}}}}}},
             {"scopeSpans", {{{"scope", {{"name", "keel"}}}, {"spans", out_spans}}}}}}}};
}

}  // namespace keel::control
