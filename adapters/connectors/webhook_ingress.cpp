#include "adapters/connectors/webhook_ingress.hpp"

#include <chrono>

#include "runtime/base/duration.hpp"
#include "runtime/base/json_text.hpp"
#include "runtime/base/utf8.hpp"

namespace keel::connectors {

namespace {

// The source a /hooks/<source> path names (empty for any other path).
std::string source_of(const std::string& path) {
  static const std::string prefix = "/hooks/";
  return path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : std::string();
}

nlohmann::json answer(bool ok, const std::string& what) {
  return ok ? nlohmann::json{{"received", true}, {"id", what}} : nlohmann::json{{"error", what}};
}

}  // namespace

record_mapping stripe_event_mapping() {
  record_mapping m;
  m.type_from = {"type", false};
  m.id = {"id", false};
  m.occurred_at = {"created", true};
  m.data_from = {"data", false};
  return m;
}

result<std::unique_ptr<webhook_ingress>> webhook_ingress::create(event_inbox& inbox, store& db,
                                                                 std::vector<webhook_source> sources) {
  std::unique_ptr<webhook_ingress> w(new webhook_ingress(inbox));
  for (auto& s : sources) {
    auto st = load_state(db, s.name, "webhook");
    if (!st) return st.err();
    w->states_[s.name] = std::move(st.value());
    w->sources_[s.name] = std::move(s);
  }
  return w;
}

const webhook_source* webhook_ingress::find(const std::string& name) const {
  auto it = sources_.find(name);
  return it == sources_.end() ? nullptr : &it->second;
}

std::vector<connector_state> webhook_ingress::states() const {
  std::lock_guard lock(mu_);
  std::vector<connector_state> out;
  for (const auto& [n, s] : states_) out.push_back(s);
  return out;
}

webhook_response webhook_ingress::reject(const std::string& source, int status, const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    auto it = states_.find(source);
    if (it != states_.end()) {
      // In memory only: a refused request changes nothing on disk.
      ++it->second.errors;
      it->second.last_error = std::to_string(status) + " " + reason;
    }
  }
  return {status, answer(false, reason).dump()};
}

webhook_response webhook_ingress::handle(const std::string& source, const header_lookup& header,
                                         const std::string& body, std::int64_t now_s) {
  const auto* src = find(source);
  if (src == nullptr)  // the name comes from the URL: any bytes, so repaired before it is quoted
    return {404, answer(false, "no webhook source '" + utf8::repaired(source.substr(0, 200)) + "' is configured").dump()};
  if (body.size() > src->max_body_bytes)
    return reject(source, 413, "body larger than " + std::to_string(src->max_body_bytes) + " bytes");
  signature_check sig;
  if (src->scheme == "stripe") {
    sig = verify_stripe(header(src->header), body, src->secrets, now_s, src->tolerance_s);
  } else {
    hmac_scheme scheme = src->hmac;
    scheme.with_timestamp = !src->timestamp_header.empty();
    scheme.tolerance_s = src->tolerance_s;
    sig = verify_hmac(scheme, header(src->header),
                      src->timestamp_header.empty() ? std::string() : header(src->timestamp_header), body,
                      src->secrets, now_s);
  }
  switch (sig.verdict) {
    case signature_verdict::ok: break;
    case signature_verdict::malformed: return reject(source, 400, "malformed signature: " + sig.reason);
    default: return reject(source, 401, sig.reason);
  }
  std::string why;
  auto raw = parse_json_text(body, &why);
  if (raw.is_discarded()) return reject(source, 400, "the body is " + why);
  if (!raw.is_object()) return reject(source, 400, "the body is not a JSON object");
  auto mapped = map_record(src->mapping, source, raw, now_s * 1000);
  const auto* id = value_at_path(raw, src->mapping.id.path);
  if (id == nullptr || !(id->is_string() || id->is_number_integer()) || (id->is_string() && id->get<std::string>().empty()))
    return reject(source, 400, "the body has no event id at '" + src->mapping.id.path + "'");
  std::string event_id = id->is_string() ? id->get<std::string>() : id->dump();
  auto prior = inbox_.seen(source, event_id);
  if (!prior) return reject(source, 503, "storage: " + prior.err().message);
  if (prior.value()) {
    if (*prior.value() == sig.signature) return reject(source, 409, "replayed request: this signature was already accepted");
    return {200, nlohmann::json{{"received", true}, {"id", event_id}, {"duplicate", true}}.dump()};
  }
  inbox_batch b;
  b.records_in = 1;
  if (mapped.event) {
    b.events.push_back(*mapped.event);
    b.tags.push_back(sig.signature);
  } else {
    b.rejects.emplace_back(mapped.raw_event, mapped.reject_reason);
  }
  std::lock_guard lock(mu_);  // one commit per source at a time keeps the state's counts exact
  auto& st = states_[source];
  auto n = inbox_.commit(b, &st, true);
  if (!n) {
    ++st.errors;
    st.last_error = n.err().message;
    return {503, answer(false, "could not store the event; retry later").dump()};
  }
  st.last_sync_ms = unix_now_ms();
  if (n->duplicates > 0)  // a concurrent delivery of the same id won the race
    return {200, nlohmann::json{{"received", true}, {"id", event_id}, {"duplicate", true}}.dump()};
  if (n->dead_lettered > 0)
    return {202, nlohmann::json{{"received", true}, {"id", event_id}, {"dead_lettered", true},
                                {"reason", mapped.reject_reason}}.dump()};
  return {200, answer(true, event_id).dump()};
}

std::size_t webhook_ingress::body_limit(const std::string& path) const {
  const auto* src = find(source_of(path));
  return src != nullptr ? src->max_body_bytes : 0;
}

void webhook_ingress::serve(const httpd::request& req, httpd::response& res) {
  auto source = source_of(req.path);
  webhook_response out;
  if (req.body_too_large) {
    // Over the cap: refused before anything is checked (a source that does
    // not exist is still 404), and nothing is stored.
    const auto* src = find(source);
    std::size_t cap = src != nullptr ? src->max_body_bytes : 0;
    out = handle(source, [](const std::string&) { return std::string(); }, std::string(cap + 1, ' '), 0);
  } else {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    out = handle(source, [&req](const std::string& h) { return req.header(h); }, req.body, now);
  }
  res.status = out.status;
  res.set_content(out.body, "application/json");
}

}  // namespace keel::connectors
