// The memory config, read through the one strict config reader
// (runtime/base/yaml_reader.hpp): its node-level reads fit a document whose
// keys are the operator's names (entity types, fields, sources). The first
// error wins; later checks are skipped once one is recorded.
#include "storage/memory/memory_config.hpp"

#include <set>

#include <yaml-cpp/yaml.h>

#include "runtime/base/yaml_reader.hpp"
#include "runtime/base/yaml_text.hpp"

namespace keel::memory {

std::optional<conversion> parse_conversion(const std::string& s) {
  static const std::map<std::string, conversion> names{
      {"none", conversion::none},         {"string", conversion::string}, {"int", conversion::integer},
      {"number", conversion::number},     {"bool", conversion::boolean},  {"timestamp", conversion::timestamp},
      {"lower", conversion::lower},       {"trim", conversion::trim},     {"cents", conversion::cents}};
  auto it = names.find(s);
  if (it == names.end()) return std::nullopt;
  return it->second;
}

const char* to_string(conversion c) {
  switch (c) {
    case conversion::none: return "none";
    case conversion::string: return "string";
    case conversion::integer: return "int";
    case conversion::number: return "number";
    case conversion::boolean: return "bool";
    case conversion::timestamp: return "timestamp";
    case conversion::lower: return "lower";
    case conversion::trim: return "trim";
    case conversion::cents: return "cents";
  }
  return "?";
}

const mapping* memory_config::find(const std::string& source, const std::string& event_type) const {
  const mapping* wildcard = nullptr;
  for (const auto& m : mappings) {
    if (m.source != source) continue;
    for (const auto& e : m.events) {
      if (e == event_type) return &m;
      if (e == "*" && !wildcard) wildcard = &m;
    }
  }
  return wildcard;
}

namespace {

using walker = detail::yaml_reader;

void read_entity(walker& w, const std::string& name, const YAML::Node& n, schema& out) {
  std::string path = "entities." + name;
  if (!w.expect_map(n, path) || !w.only_keys(n, path, {"fields", "identity", "merge"})) return;
  entity_type t;
  t.name = name;
  if (!n["fields"] || !n["fields"].IsMap() || n["fields"].size() == 0) {
    w.fail_at(n, path + ".fields", "declare at least one field as name: type (string, int, number, bool, timestamp, json)");
    return;
  }
  for (const auto& kv : n["fields"]) {
    auto field = kv.first.as<std::string>();
    auto type = w.scalar(kv.second, path + ".fields." + field);
    if (!type) return;
    auto ft = parse_field_type(*type);
    if (!ft) {
      w.fail_at(kv.second, path + ".fields." + field, "unknown type '" + *type + "'; use string, int, number, bool, timestamp or json");
      return;
    }
    t.fields[field] = *ft;
  }
  if (n["identity"]) t.identity = w.scalars(n["identity"], path + ".identity");
  if (const auto& merge = n["merge"]) {
    if (!w.expect_map(merge, path + ".merge")) return;
    for (const auto& kv : merge) {
      auto field = kv.first.as<std::string>();
      std::string fpath = path + ".merge." + field;
      merge_rule rule;
      std::string kind;
      if (kv.second.IsScalar()) {
        kind = kv.second.as<std::string>();
      } else if (w.expect_map(kv.second, fpath) && w.only_keys(kv.second, fpath, {"rule", "priority"})) {
        if (kv.second["rule"]) kind = w.scalar(kv.second["rule"], fpath + ".rule").value_or("");
        if (kv.second["priority"]) rule.priority = w.scalars(kv.second["priority"], fpath + ".priority");
      }
      if (!w.ok()) return;
      if (kind == "latest_wins") {
        rule.rule = merge_rule::kind::latest_wins;
      } else if (kind == "source_priority") {
        rule.rule = merge_rule::kind::source_priority;
        if (rule.priority.empty()) {
          w.fail_at(kv.second, fpath, "source_priority needs priority: [most trusted source, ...]");
          return;
        }
      } else {
        w.fail_at(kv.second, fpath, "unknown merge rule '" + kind + "'; use latest_wins or source_priority");
        return;
      }
      t.merge[field] = rule;
    }
  }
  if (!w.ok()) return;
  if (auto st = out.add(std::move(t)); !st) w.fail_at(n, path, st.err().message);
}

void read_mapping(walker& w, std::size_t i, const YAML::Node& n, const schema& types, std::vector<mapping>& out) {
  std::string path = "mappings[" + std::to_string(i) + "]";
  if (!w.expect_map(n, path) || !w.only_keys(n, path, {"source", "event", "entity", "fields", "note"})) return;
  mapping m;
  m.line = n.Mark().line + 1;
  for (const char* k : {"source", "event", "entity", "fields"})
    if (!n[k]) {
      w.fail_at(n, path, std::string("missing '") + k + "'");
      return;
    }
  m.source = w.scalar(n["source"], path + ".source").value_or("");
  m.events = w.scalars(n["event"], path + ".event");
  m.entity = w.scalar(n["entity"], path + ".entity").value_or("");
  if (n["note"]) m.note = w.scalar(n["note"], path + ".note").value_or("");
  if (!w.ok()) return;
  const entity_type* t = types.find(m.entity);
  if (!t) {
    auto names = types.type_names();
    std::string list;
    for (const auto& s : names) list += (list.empty() ? "" : ", ") + s;
    w.fail_at(n["entity"], path + ".entity", "unknown entity type '" + m.entity + "'; declared under entities: " + list);
    return;
  }
  if (!w.expect_map(n["fields"], path + ".fields")) return;
  for (const auto& kv : n["fields"]) {
    field_map f;
    f.canonical = kv.first.as<std::string>();
    f.line = kv.first.Mark().line + 1;
    std::string fpath = path + ".fields." + f.canonical;
    if (!t->fields.count(f.canonical)) {
      w.fail_at(kv.first, fpath, "entity type '" + m.entity + "' has no field '" + f.canonical + "'; declare it under entities." + m.entity + ".fields");
      return;
    }
    if (kv.second.IsScalar()) {
      f.from = kv.second.as<std::string>();
    } else if (w.expect_map(kv.second, fpath) && w.only_keys(kv.second, fpath, {"from", "convert"})) {
      if (!kv.second["from"]) {
        w.fail_at(kv.second, fpath, "missing 'from' (a dotted path into the event, e.g. data.email)");
        return;
      }
      f.from = w.scalar(kv.second["from"], fpath + ".from").value_or("");
      if (kv.second["convert"]) {
        auto c = w.scalar(kv.second["convert"], fpath + ".convert").value_or("");
        auto conv = parse_conversion(c);
        if (!conv) {
          w.fail_at(kv.second["convert"], fpath + ".convert",
                 "unknown conversion '" + c + "'; use one of none, string, int, number, bool, timestamp, lower, trim, cents");
          return;
        }
        f.convert = *conv;
      }
    }
    if (!w.ok()) return;
    if (f.from.empty()) {
      w.fail_at(kv.second, fpath, "empty source path");
      return;
    }
    m.fields.push_back(std::move(f));
  }
  bool has_identity = t->identity.empty();
  for (const auto& f : m.fields)
    for (const auto& k : t->identity) has_identity = has_identity || f.canonical == k;
  if (!has_identity) {
    w.fail_at(n, path, "maps no identity key of '" + m.entity + "'; map at least one of its identity fields");
    return;
  }
  out.push_back(std::move(m));
}

void read_pruning(walker& w, const YAML::Node& n, prune_policies& out) {
  if (!w.expect_map(n, "pruning") || !w.only_keys(n, "pruning", {"memory", "records"})) return;
  if (const auto& mem = n["memory"]; mem && w.expect_map(mem, "pruning.memory")) {
    for (const auto& kv : mem) {
      auto kind = kv.first.as<std::string>();
      std::string path = "pruning.memory." + kind;
      if (!w.expect_map(kv.second, path) || !w.only_keys(kv.second, path, {"ttl", "max_items"})) return;
      kind_policy p;
      if (kv.second["ttl"]) {
        auto ttl = w.duration(kv.second["ttl"], path + ".ttl");
        if (!ttl) return;
        p.ttl_ms = ttl->count();
      }
      if (kv.second["max_items"]) {
        auto s = w.scalar(kv.second["max_items"], path + ".max_items").value_or("");
        if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
          w.fail_at(kv.second["max_items"], path + ".max_items", "must be a whole number");
          return;
        }
        p.max_items = std::stoull(s);
      }
      out.memory[kind] = p;
    }
  }
  if (const auto& rec = n["records"]; rec && w.expect_map(rec, "pruning.records")) {
    for (const auto& kv : rec) {
      auto type = kv.first.as<std::string>();
      std::string path = "pruning.records." + type;
      if (!w.expect_map(kv.second, path) || !w.only_keys(kv.second, path, {"keep_versions"}) || !kv.second["keep_versions"]) {
        w.fail_at(kv.second, path, "write keep_versions: N");
        return;
      }
      auto s = w.scalar(kv.second["keep_versions"], path + ".keep_versions").value_or("");
      if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s == "0") {
        w.fail_at(kv.second["keep_versions"], path + ".keep_versions", "must be a whole number of at least 1");
        return;
      }
      out.keep_versions[type] = std::stoull(s);
    }
  }
}

// A whole number in [lo, hi] at `key` of `node`, or a failure naming the range.
template <class Int>
void read_count(walker& w, const YAML::Node& node, const char* key, Int lo, Int hi, Int& out) {
  if (!node[key]) return;
  auto path = std::string("memory.embedder.") + key;
  auto s = w.scalar(node[key], path).value_or("");
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos ||
      std::stoll(s) < static_cast<long long>(lo) || std::stoll(s) > static_cast<long long>(hi))
    w.fail_at(node[key], path, "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  else
    out = static_cast<Int>(std::stoll(s));
}

void read_embedder(walker& w, const YAML::Node& e, memory_service_settings& out) {
  static const std::set<std::string> keys{"base_url", "model",       "dimensions", "api_key", "ca_file",
                                          "batch",    "concurrency", "retries",    "timeout"};
  if (!w.expect_map(e, "memory.embedder") || !w.only_keys(e, "memory.embedder", keys)) return;
  remote_embedder_settings r;
  auto text = [&](const char* key, bool required) {
    std::string path = std::string("memory.embedder.") + key;
    if (!e[key]) {
      if (required) w.fail_at(e, path, std::string("is required (the embedding server's ") + key + ")");
      return std::string();
    }
    return w.scalar(e[key], path).value_or("");
  };
  r.base_url = text("base_url", true);
  if (w.ok() && r.base_url.rfind("http://", 0) != 0 && r.base_url.rfind("https://", 0) != 0)
    w.fail_at(e["base_url"], "memory.embedder.base_url", "must be an http:// or https:// URL, such as http://127.0.0.1:8080/v1");
  r.model = text("model", true);
  if (w.ok() && r.model.empty()) w.fail_at(e["model"], "memory.embedder.model", "must name the embedding model");
  if (w.ok() && !e["dimensions"])
    w.fail_at(e, "memory.embedder.dimensions", "is required: the length of the model's vectors (e.g. 768 for nomic-embed-text)");
  read_count(w, e, "dimensions", std::size_t{8}, std::size_t{8192}, r.dimensions);
  r.api_key = text("api_key", false);
  if (w.ok() && !r.api_key.empty() && r.api_key.rfind("secret://", 0) != 0)
    w.fail_at(e["api_key"], "memory.embedder.api_key",
              "must be a vault reference (secret://NAME; store the key with `keelctl secrets set NAME`), never the key itself");
  r.ca_file = text("ca_file", false);
  if (w.ok() && !r.ca_file.empty()) w.check_ca_file(e["ca_file"], "memory.embedder.ca_file", r.ca_file);
  read_count(w, e, "batch", std::size_t{1}, std::size_t{2048}, r.batch);
  read_count(w, e, "concurrency", 1, 64, r.concurrency);
  read_count(w, e, "retries", 0, 10, r.retries);
  if (e["timeout"])
    if (auto v = w.duration(e["timeout"], "memory.embedder.timeout")) {
      if (v->count() < 100) w.fail_at(e["timeout"], "memory.embedder.timeout", "must be at least 100ms; write e.g. 30s");
      else r.timeout_ms = v->count();
    }
  if (w.ok()) out.embedder = std::move(r);
}

void read_service(walker& w, const YAML::Node& root, memory_service_settings& out) {
  auto duration = [&](const char* key, std::int64_t& ms) {
    if (!root[key]) return;
    auto v = w.duration(root[key], std::string("memory.") + key);
    if (!v) return;
    if (v->count() < 1000) w.fail_at(root[key], std::string("memory.") + key, "must be at least 1s; write e.g. 30s, 1m, 1h");
    else ms = v->count();
  };
  if (root["dimension"]) {
    auto s = w.scalar(root["dimension"], "memory.dimension").value_or("");
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 4 || std::stoul(s) < 32 ||
        std::stoul(s) > 4096)
      w.fail_at(root["dimension"], "memory.dimension", "must be a whole number from 32 to 4096 (256 is a good choice)");
    else out.dimension = std::stoul(s);
  }
  duration("checkpoint_every", out.checkpoint_every_ms);
  duration("prune_every", out.prune_every_ms);
  if (root["sync"]) {
    auto s = w.scalar(root["sync"], "memory.sync").value_or("");
    if (s != "true" && s != "false") w.fail_at(root["sync"], "memory.sync", "must be true or false");
    out.sync = s == "true";
  }
  if (root["synonyms"]) {
    auto s = w.scalar(root["synonyms"], "memory.synonyms").value_or("");
    if (s.empty()) w.fail_at(root["synonyms"], "memory.synonyms", "must be WordNet's data directory (/usr/share/wordnet) or off");
    out.synonyms = s == "off" ? "" : s;
  }
  if (const auto& g = root["glossary"]) {
    const char* what = "must be a list of glossaries, builtin and/or absolute file paths ([builtin, /etc/keel/glossary.txt]), or off";
    if (g.IsScalar() && g.as<std::string>() == "off") {
      out.glossary.clear();
    } else if (!g.IsSequence()) {
      w.fail_at(g, "memory.glossary", what);
    } else {
      out.glossary.clear();
      for (std::size_t i = 0; w.ok() && i < g.size(); ++i) {
        auto s = g[i].IsScalar() ? g[i].as<std::string>() : "";
        if (s != "builtin" && (s.empty() || s[0] != '/')) w.fail_at(g[i], "memory.glossary", what);
        else out.glossary.push_back(s);
      }
    }
  }
  if (root["embedder"] && w.ok()) read_embedder(w, root["embedder"], out);
}

// The memory document (or a node config's memory section) into cfg.
void read_root(walker& w, const YAML::Node& root, memory_config& cfg, schema& types, bool section) {
  static const std::set<std::string> plain{"entities", "mappings", "pruning"};
  static const std::set<std::string> in_node{"entities", "mappings", "pruning", "dimension", "checkpoint_every",
                                             "prune_every", "sync", "synonyms", "glossary", "embedder"};
  const std::string where = section ? "memory" : "";
  if (!w.expect_map(root, where) || !w.only_keys(root, where, section ? in_node : plain)) return;
  if (const auto& ents = root["entities"]; ents && w.expect_map(ents, "entities"))
    for (const auto& kv : ents) {
      read_entity(w, kv.first.as<std::string>(), kv.second, types);
      if (!w.ok()) break;
    }
  if (const auto& maps = root["mappings"]; w.ok() && maps) {
    if (!maps.IsSequence()) w.fail_at(maps, "mappings", "must be a list of mappings (- source: ...)");
    for (std::size_t i = 0; w.ok() && i < maps.size(); ++i) read_mapping(w, i, maps[i], types, cfg.mappings);
  }
  if (const auto& pr = root["pruning"]; w.ok() && pr) read_pruning(w, pr, cfg.pruning);
  if (section && w.ok()) read_service(w, root, cfg.service);
}

// Runs `read` over the parsed document; YAML and walker errors become one
// config error.
template <class Read>
result<memory_config> parse_with(const std::string& yaml_text, const std::string& origin, Read read) {
  walker w(YAML::Node(), origin, "");
  memory_config cfg;
  auto types = std::make_shared<schema>();
  auto parsed = parse_yaml_text(yaml_text, origin);
  if (!parsed) return parsed.err();
  try {
    YAML::Node root = std::move(parsed.value());
    if (auto e = read(w, root, cfg, *types)) return *e;
  } catch (const YAML::Exception& e) {
    return error{errc::config, origin + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg};
  }
  if (!w.ok()) return error{errc::config, w.first_error()};
  cfg.entities = std::move(types);
  return cfg;
}

}  // namespace

result<memory_config> parse_memory_config(const std::string& yaml_text, const std::string& origin) {
  return parse_with(yaml_text, origin, [&](walker& w, const YAML::Node& root, memory_config& cfg, schema& types) -> std::optional<error> {
    if (root.IsNull()) return error{errc::config, origin + ": empty memory config; declare entities: and mappings:"};
    read_root(w, root, cfg, types, false);
    return std::nullopt;
  });
}

result<memory_config> parse_memory_section(const std::string& node_yaml_text, const std::string& origin) {
  return parse_with(node_yaml_text, origin, [](walker& w, const YAML::Node& root, memory_config& cfg, schema& types) -> std::optional<error> {
    if (root.IsMap() && root["memory"]) read_root(w, root["memory"], cfg, types, true);
    return std::nullopt;
  });
}

result<memory_config> load_memory_config(const std::string& path) {
  auto text = read_config_file(path, "memory config", "check the path and permissions");
  if (!text) return text.err();
  return parse_memory_config(*text, path);
}

}  // namespace keel::memory
