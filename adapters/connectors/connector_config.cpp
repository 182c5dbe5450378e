#include "adapters/connectors/connector_config.hpp"

#include <cctype>
#include <set>

#include <yaml-cpp/yaml.h>

#include "runtime/base/duration.hpp"
#include "runtime/base/yaml_reader.hpp"
#include "runtime/base/yaml_text.hpp"

namespace keel::connectors {

namespace {

// YAML -> JSON with scalars typed the way YAML 1.2's core schema reads them.
nlohmann::json to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& v : n) a.push_back(to_json(v));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const auto& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted: always a string
      std::int64_t i;
      double d;
      bool b;
      if (YAML::convert<std::int64_t>::decode(n, i)) return i;
      if (YAML::convert<double>::decode(n, d) && s.find_first_of("0123456789") != std::string::npos) return d;
      if (YAML::convert<bool>::decode(n, b)) return b;
      return s;
    }
    default: return nullptr;
  }
}

// One connector entry, read through the one config reader (yaml_reader.hpp,
// the same errors and duration grammar as every other section); the calls
// return a status because each parse below stops at its first error.
class entry_reader {
 public:
  entry_reader(const YAML::Node& node, std::string origin, std::string path)
      : r_(node, origin, path), origin_(std::move(origin)) {}

  const YAML::Node* find(const std::string& key) {
    auto v = r_.find(key);
    if (!v) return nullptr;
    found_ = *v;
    return &found_;
  }
  error fail(const std::string& key, const std::string& what, const YAML::Node* at = nullptr) {
    r_.fail(at != nullptr ? *at : r_.node(), key, what);
    return error{errc::config, r_.first_error()};
  }
  // Present keys must not be blank (a connector's names, paths and secrets).
  status text(const std::string& key, std::string& out, bool required = false) {
    const auto* v = find(key);
    if (v == nullptr) return required ? status(fail(key, "is required")) : status(ok_v);
    if (!v->IsScalar() || v->Scalar().empty()) return fail(key, "must be a non-empty string", v);
    out = v->Scalar();
    return ok_v;
  }
  status number(const std::string& key, double& out, double lo, double hi) {
    r_.get(key, out, lo, hi);
    return checked();
  }
  template <class Int>
  status integer(const std::string& key, Int& out, long long lo, long long hi) {
    long long v = static_cast<long long>(out);
    r_.get(key, v, lo, hi);
    if (r_.ok()) out = static_cast<Int>(v);
    return checked();
  }
  status duration(const std::string& key, std::chrono::milliseconds& out) {
    std::string s;
    if (auto t = text(key, s); !t) return t;
    if (s.empty()) return ok_v;
    auto d = r_.duration(found_, r_.path().empty() ? key : r_.path() + "." + key);
    if (!d) return checked();
    out = *d;
    return ok_v;
  }
  status mapping(record_mapping& out, bool required) {
    const auto* v = find("mapping");
    if (v == nullptr) return required ? status(fail("mapping", "is required (type, id, fields)")) : status(ok_v);
    auto m = parse_mapping(to_json(*v), origin_ + ":" + std::to_string(v->Mark().line + 1) + ": mapping");
    if (!m) return m.err();
    out = std::move(m.value());
    return ok_v;
  }
  entry_reader nested(const std::string& key, const YAML::Node& n) const {
    return entry_reader(n, origin_, r_.path().empty() ? key : r_.path() + "." + key);
  }
  status finish() {
    r_.finish();
    return checked();
  }

 private:
  status checked() const { return r_.ok() ? status(ok_v) : status(error{errc::config, r_.first_error()}); }

  detail::yaml_reader r_;
  std::string origin_;
  YAML::Node found_;
};

status parse_webhook(entry_reader& r, webhook_source& w) {
  w.mapping = stripe_event_mapping();
  if (auto s = r.text("scheme", w.scheme); !s) return s;
  if (w.scheme != "stripe" && w.scheme != "hmac") return r.fail("scheme", "must be stripe or hmac");
  if (w.scheme == "hmac") w.header = "X-Signature";
  std::string secret;
  if (auto s = r.text("secret", secret); !s) return s;
  if (!secret.empty()) w.secrets.push_back(secret);
  if (const auto* list = r.find("secrets")) {
    if (!list->IsSequence()) return r.fail("secrets", "must be a list of secret://NAME", list);
    for (const auto& v : *list) w.secrets.push_back(v.as<std::string>());
  }
  if (w.secrets.empty()) return r.fail("secret", "a webhook source needs secret (or secrets while rotating): unsigned requests are refused");
  for (const auto& s : w.secrets)
    if (s.rfind("secret://", 0) != 0) return r.fail("secret", "must be a secret://NAME reference (keelctl secrets set NAME)");
  if (auto s = r.text("header", w.header); !s) return s;
  if (auto s = r.text("timestamp_header", w.timestamp_header); !s) return s;
  if (auto s = r.text("prefix", w.hmac.prefix); !s) return s;
  std::string encoding = "hex";
  if (auto s = r.text("encoding", encoding); !s) return s;
  if (encoding != "hex" && encoding != "base64") return r.fail("encoding", "must be hex or base64");
  w.hmac.base64 = encoding == "base64";
  std::chrono::milliseconds tol{w.tolerance_s * 1000};
  if (auto s = r.duration("tolerance", tol); !s) return s;
  w.tolerance_s = tol.count() / 1000;
  if (auto s = r.integer("max_body", w.max_body_bytes, 1, 64 << 20); !s) return s;
  return r.mapping(w.mapping, false);
}

status parse_files(entry_reader& r, file_source& f) {
  if (auto s = r.text("path", f.path, true); !s) return s;
  if (auto s = r.text("format", f.format); !s) return s;
  if (f.format != "csv" && f.format != "jsonl") return r.fail("format", "must be csv or jsonl");
  if (auto s = r.text("incremental", f.incremental); !s) return s;
  if (f.incremental != "offset" && f.incremental != "cursor") return r.fail("incremental", "must be offset or cursor");
  if (auto s = r.text("cursor_field", f.cursor_field); !s) return s;
  if (f.incremental == "cursor" && f.cursor_field.empty()) return r.fail("cursor_field", "is required with incremental: cursor");
  if (auto s = r.integer("batch", f.batch, 1, 100000); !s) return s;
  std::string sep;
  if (auto s = r.text("separator", sep); !s) return s;
  if (!sep.empty()) {
    if (sep.size() != 1) return r.fail("separator", "must be one character");
    f.separator = sep[0];
  }
  std::string enc = "utf-8";
  if (auto s = r.text("encoding", enc); !s) return s;
  for (auto& ch : enc) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (enc == "windows-1252" || enc == "cp1252" || enc == "latin1" || enc == "iso-8859-1") f.windows_1252 = true;
  else if (enc != "utf-8" && enc != "utf8")
    return r.fail("encoding", "must be utf-8 or windows-1252 (also called latin1, iso-8859-1, cp1252); save other "
                              "encodings as UTF-8");
  return r.mapping(f.mapping, true);
}

status parse_poll(entry_reader& r, http_poll_source& p) {
  if (auto s = r.text("url", p.url, true); !s) return s;
  if (auto u = http::parse_url(p.url); !u) return r.fail("url", u.err().message);
  for (auto [key, out] : {std::pair{"items", &p.items}, {"cursor", &p.cursor}, {"cursor_param", &p.cursor_param},
                          {"cursor_field", &p.cursor_field}, {"has_more", &p.has_more}, {"page_size_param", &p.page_size_param}})
    if (auto s = r.text(key, *out); !s) return s;
  if (p.cursor != "starting_after" && p.cursor != "updated_since") return r.fail("cursor", "must be starting_after or updated_since");
  if (auto s = r.integer("page_size", p.page_size, 1, 10000); !s) return s;
  if (auto s = r.integer("retries", p.retries, 0, 100); !s) return s;
  if (auto s = r.integer("max_pages", p.max_pages, 1, 1000000); !s) return s;
  if (auto s = r.duration("timeout", p.timeout); !s) return s;
  if (auto s = r.duration("max_retry_wait", p.max_retry_wait); !s) return s;
  if (const auto* rate = r.find("rate")) {
    auto rr = r.nested("rate", *rate);
    if (!rate->IsMap()) return r.fail("rate", "must be {per_second: N, burst: M}", rate);
    if (auto s = rr.number("per_second", p.per_second, 0.001, 100000); !s) return s;
    if (auto s = rr.number("burst", p.burst, 1, 100000); !s) return s;
    if (auto s = rr.finish(); !s) return s;
  }
  if (const auto* h = r.find("headers")) {
    if (!h->IsMap()) return r.fail("headers", "must be a map of header: value", h);
    for (const auto& kv : *h) p.headers.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
  }
  return r.mapping(p.mapping, true);
}

}  // namespace

result<connectors_config> parse_connectors(const std::string& yaml_text, const std::string& origin) {
  connectors_config cfg;
  auto parsed = parse_yaml_text(yaml_text, origin);
  if (!parsed) return parsed.err();
  YAML::Node root = std::move(parsed.value());
  if (!root.IsMap() || !root["connectors"]) return cfg;
  auto list = root["connectors"];
  if (list.IsNull()) return cfg;
  if (!list.IsSequence())
    return error{errc::config, origin + ":" + std::to_string(list.Mark().line + 1) + ": connectors: must be a list"};
  std::set<std::string> names;
  std::size_t i = 0;
  try {
    for (const auto& entry : list) {
      if (!entry.IsMap())
        return error{errc::config, origin + ":" + std::to_string(entry.Mark().line + 1) + ": connectors[" + std::to_string(i) + "]: must be a map"};
      entry_reader r(entry, origin, "");
      std::string name, kind;
      if (auto s = r.text("name", name, true); !s) return s.err();
      if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos || name.size() > 64)
        return r.fail("name", "'" + name + "' must be 1-64 of a-z 0-9 _ -");
      if (!names.insert(name).second) return r.fail("name", "'" + name + "' is declared twice");
      if (auto s = r.text("kind", kind, true); !s) return s.err();
      std::chrono::milliseconds every{0};
      if (kind != "webhook")
        if (auto s = r.duration("every", every); !s) return s.err();
      status st = ok_v;
      if (kind == "webhook") {
        webhook_source w;
        w.name = name;
        st = parse_webhook(r, w);
        if (st) cfg.webhooks.push_back(std::move(w));
      } else if (kind == "files") {
        file_source f;
        f.name = name;
        st = parse_files(r, f);
        if (st) cfg.files.push_back(std::move(f));
      } else if (kind == "http_poll") {
        http_poll_source p;
        p.name = name;
        st = parse_poll(r, p);
        if (st) cfg.polls.push_back(std::move(p));
      } else if (kind == "maildir") {
        maildir_source m;
        m.name = name;
        st = r.text("path", m.path, true);
        if (st) st = r.mapping(m.mapping, false);
        if (st) cfg.maildirs.push_back(std::move(m));
      } else {
        return r.fail("kind", "'" + kind + "' is not one of webhook, files, http_poll, maildir");
      }
      if (!st) return st.err();
      if (auto s = r.finish(); !s) return s.err();
      if (kind != "webhook") cfg.every[name] = every;
      ++i;
    }
  } catch (const YAML::Exception& e) {
    return error{errc::config, origin + ": connectors: " + e.what()};
  }
  return cfg;
}

status resolve_secrets(connectors_config& cfg, const secret_resolver& resolve) {
  auto expand = [&](const std::string& connector, std::string& value) -> status {
    auto at = value.find("secret://");
    if (at == std::string::npos) return ok_v;
    auto end = value.find_first_of(" \t,;", at);
    auto name = value.substr(at + 9, end == std::string::npos ? std::string::npos : end - at - 9);
    auto plain = resolve(name);
    if (!plain)
      return error{plain.err().code, "connector '" + connector + "': secret '" + name + "': " + plain.err().message};
    value.replace(at, 9 + name.size(), *plain);
    return ok_v;
  };
  for (auto& w : cfg.webhooks)
    for (auto& s : w.secrets)
      if (auto r = expand(w.name, s); !r) return r;
  for (auto& p : cfg.polls)
    for (auto& [k, v] : p.headers)
      if (auto r = expand(p.name, v); !r) return r;
  return ok_v;
}

}  // namespace keel::connectors
