#include "actors/reload.hpp"

#include <mutex>
#include <set>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "actors/agent_common.hpp"
#include "actors/config_check.hpp"
#include "actors/contracts.hpp"
#include "actors/control/services.hpp"
#include "runtime/control/monitor_rules.hpp"
#include "runtime/control/notify.hpp"
#include "runtime/memory/memory_service.hpp"
#include "storage/memory/glossary.hpp"
#include "storage/memory/memory_config.hpp"

namespace keel {

namespace {

std::mutex reload_mu;  // one reload at a time (keelctl and SIGHUP may race)

// What a reload applies while the node runs; any other changed section
// waits for a restart.
const std::set<std::string> live_sections{"workflows.dir", "policy", "monitor", "notify", "memory.entities",
                                          "memory.mappings", "memory.glossary", "connectors", "ingress"};
// Sections whose keys are told apart (a changed memory.embedder needs a
// restart, changed memory.mappings do not).
const std::set<std::string> split_sections{"memory", "workflows"};

std::string dump(const YAML::Node& n) { return n ? YAML::Dump(n) : std::string(); }

// Top-level sections (memory.KEY and workflows.KEY for those two) whose
// YAML differs between the texts.
std::set<std::string> changed_sections(const std::string& before, const std::string& after) {
  const YAML::Node a = YAML::Load(before), b = YAML::Load(after);
  std::set<std::string> keys, out;
  for (const auto& doc : {a, b})
    if (doc.IsMap())
      for (const auto& kv : doc) keys.insert(kv.first.as<std::string>());
  for (const auto& k : keys) {
    const YAML::Node x = a.IsMap() ? a[k] : YAML::Node(), y = b.IsMap() ? b[k] : YAML::Node();
    if (dump(x) == dump(y)) continue;
    if (!split_sections.count(k) || !(x.IsMap() || !x) || !(y.IsMap() || !y)) {
      out.insert(k);
      continue;
    }
    for (const auto& sub : changed_sections(x ? dump(x) : "{}", y ? dump(y) : "{}")) out.insert(k + "." + sub);
  }
  return out;
}

nlohmann::json workflow_changes(const wf::workflow_catalog& before, const wf::workflow_catalog& after) {
  nlohmann::json added = nlohmann::json::array(), removed = nlohmann::json::array(), changed = nlohmann::json::array();
  auto old_defs = before.all(), new_defs = after.all();
  for (const auto& [name, def] : new_defs) {
    auto it = old_defs.find(name);
    if (it == old_defs.end()) added.push_back(name);
    else if (it->second->to_json() != def->to_json())
      changed.push_back(name + " v" + std::to_string(it->second->version) + " -> v" + std::to_string(def->version));
  }
  for (const auto& [name, def] : old_defs)
    if (!new_defs.count(name)) removed.push_back(name);
  return {{"added", added}, {"removed", removed}, {"changed", changed}};
}

result<node_config> read_again(const node_config& running) {
  auto fresh = running.source_dir.empty() ? load_embedded_node_config() : load_node_config_file(running.source_origin);
  if (!fresh) return fresh.err();
  fresh->fault_injection = running.fault_injection;  // a command-line setting, not in the file
  if (auto s = check_node_config(*fresh); !s) return s.err();
  return fresh;
}

void restart_connectors(caf::actor_system& sys) {
  auto serving = caf::actor_cast<supervisor_actor>(sys.registry().get(registry_key("serving")));
  if (serving) caf::anon_send(serving, restart_atom::value, std::string("connectors"));
}

}  // namespace

result<nlohmann::json> reload_node(caf::actor_system& sys, node_context& ctx, const std::string& by) {
  std::lock_guard lk(reload_mu);
  auto& control = *ctx.control;
  const auto origin = ctx.config.source_origin.empty() ? std::string("embedded config") : ctx.config.source_origin;
  auto refuse = [&](const error& e) -> error {
    spdlog::error("reload refused, nothing changed: {}", e.message);
    return error{e.code, "reload refused, nothing changed: " + e.message +
                             "; fix it and reload again (the node keeps running on the config it had)"};
  };

  // 1. Read and check everything before anything changes.
  auto fresh = read_again(ctx.config);
  if (!fresh) return refuse(fresh.err());
  auto actions = wf::builtin_action_names();
  actions.insert(fresh->extra_actions.begin(), fresh->extra_actions.end());
  auto catalog = wf::workflow_catalog::load_dir(fresh->workflows_dir, actions);
  if (auto errors = catalog.errors(); !errors.empty())
    return refuse(error{errc::config, errors.begin()->second + (errors.size() > 1 ? " (and " + std::to_string(errors.size() - 1) +
                                                                                      " more file(s) with errors)" : "")});
  auto policy = load_policy(fresh->control);
  if (!policy) return refuse(policy.err());
  auto monitor = control::parse_monitor_config(fresh->source_text, origin);
  if (!monitor) return refuse(monitor.err());
  auto notify = control::parse_notify_config(fresh->source_text, origin);
  if (!notify) return refuse(notify.err());
  auto memory_cfg = memory::parse_memory_section(fresh->source_text, origin);
  if (!memory_cfg) return refuse(memory_cfg.err());
  // The glossary files are read again whether or not the config names
  // other ones: editing a file and reloading is how an operator adds words.
  auto glossary = memory::glossary::load_all(memory_cfg->service.glossary);
  if (!glossary) return refuse(error{glossary.err().code, "memory.glossary: " + glossary.err().message});
  std::set<std::string> sections;
  try {
    sections = changed_sections(*ctx.config_text.get(), fresh->source_text);
  } catch (const std::exception& ex) {
    return refuse(error{errc::config, origin + ": " + ex.what()});
  }

  // 2. Swap.
  nlohmann::json changed;
  changed["workflows"] = workflow_changes(ctx.workflows, catalog);
  ctx.workflows = std::move(catalog);
  auto old_policy = control.rules.get();
  changed["policy"] = old_policy->origin != policy->origin || old_policy->rules.describe() != policy->rules.describe();
  control.policy_active = policy->active;
  control.rules.set(std::move(*policy));
  changed["monitor"] = sections.count("monitor") > 0;
  control.monitor.set(std::move(*monitor));
  changed["notify"] = sections.count("notify") > 0;
  control.notify.set(std::move(*notify));
  control.outbox->wake();
  auto memory_keys = nlohmann::json::array();
  for (const char* k : {"memory.entities", "memory.mappings"})
    if (sections.count(k)) memory_keys.push_back(k);
  if (!memory_keys.empty() && ctx.memory)
    ctx.memory->canon().set_config(std::make_shared<const memory::memory_config>(std::move(*memory_cfg)));
  if (ctx.memory && glossary->source() != ctx.memory->glossary_source()) {
    memory_keys.push_back("memory.glossary");
    // Searches run on the memory worker: swapped between two of them.
    ctx.memory->post([m = ctx.memory, g = std::make_shared<memory::glossary>(std::move(*glossary))] {
      m->set_glossary(std::move(*g));
    });
  }
  changed["memory"] = memory_keys;
  ctx.config_text.set(fresh->source_text);
  changed["connectors"] = sections.count("connectors") > 0;
  changed["ingress"] = sections.count("ingress") > 0;
  // The connectors part owns the ingress listener: a restart also re-reads
  // its certificate files (renewed on disk, same config). Only that part
  // reads config.ingress, and it starts after this write.
  bool tls_files = fresh->ingress.enabled() && !fresh->ingress.cert_file.empty();
  ctx.config.ingress = fresh->ingress;
  if (sections.count("connectors") || sections.count("ingress") || tls_files) restart_connectors(sys);
  auto restart_needed = nlohmann::json::array();
  for (const auto& s : sections)
    if (!live_sections.count(s)) restart_needed.push_back(s);

  nlohmann::json out = {{"file", origin}, {"changed", changed}, {"restart_needed", restart_needed}};
  control.audit_event("config_change", by, origin,
                      {{"event", "reloaded"}, {"changed", changed}, {"restart_needed", restart_needed}});
  spdlog::info("config reloaded from {} by {}: {}", origin, by, changed.dump());
  if (!restart_needed.empty())
    spdlog::warn("config reload: {} changed and take(s) effect at the next restart", restart_needed.dump());
  return out;
}

}  // namespace keel
