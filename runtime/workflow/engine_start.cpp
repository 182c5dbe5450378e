// Starting instances. A start with an idempotency key is recorded under
// wf/start/<key> with a hash of its input, in the same batch as the
// instance: the same key again answers with that instance (or, with
// --wait, waits for it), the same key with other input is a conflict.
// Starts still in the pending batch are found in pending_starts.
#include "runtime/fabric/protocol.hpp"
#include "runtime/workflow/engine_impl.hpp"

namespace keel::wf {

namespace {

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::string new_instance_id() { return "wf_" + new_span_id(); }

}  // namespace

void engine::impl::start(std::uint64_t token, const start_request& req) {
  // A plan the operator runs brings its own definition; every other start names one in the catalog.
  auto def = catalog.find(req.workflow);
  if (!req.definition.is_null()) {
    auto own = workflow_definition::from_json(req.definition);
    if (!own) return reply(token, error{errc::bad_request, "the definition to run: " + own.err().message});
    def = std::make_shared<const workflow_definition>(std::move(own.value()));
  }
  if (!def) {
    std::string names;
    for (const auto& [n, d] : catalog.all()) names += (names.empty() ? "" : ", ") + n;
    if (names.empty() && !opts.empty_catalog_note.empty())
      return reply(token, error{errc::not_found, "no workflow named '" + req.workflow + "' (loaded: none); " +
                                                     opts.empty_catalog_note});
    return reply(token, error{errc::not_found, "no workflow named '" + req.workflow + "' (loaded: " +
                                                   (names.empty() ? "none" : names) + "); see `keelctl workflows`"});
  }
  if (!req.input.is_object())
    return reply(token, error{errc::bad_request, "the input of a workflow must be a JSON object"});
  auto input_text = req.input.dump();
  if (input_text.size() > opts.max_payload_bytes)
    return reply(token, error{errc::payload_too_large, "the input is " + std::to_string(input_text.size()) +
                                                           " bytes; the limit is " + std::to_string(opts.max_payload_bytes) +
                                                           " (workflows.max_payload_bytes): pass a reference instead"});
  auto input_hash = std::to_string(fnv1a(input_text));
  if (!req.idempotency_key.empty()) {
    std::string existing;
    std::string existing_hash;
    if (auto p = pending_starts.find(req.idempotency_key); p != pending_starts.end()) {
      existing = p->second;
      existing_hash = std::to_string(fnv1a(find(existing)->input.dump()));
    } else {
      auto stored = ws.get_json(wfkey::start(req.idempotency_key));
      if (!stored) return reply(token, stored.err());
      if (stored->has_value()) {
        existing = (**stored)["instance"].get<std::string>();
        existing_hash = (**stored)["input_hash"].get<std::string>();
      }
    }
    if (!existing.empty()) {
      if (existing_hash != input_hash)
        return reply(token, error{errc::conflict, "idempotency key '" + req.idempotency_key + "' was used by instance " +
                                                      existing + " with different input; use a new key"});
      return answer_existing(token, existing, req.wait);
    }
  }
  auto inst = std::make_unique<instance>();
  inst->id = new_instance_id();
  auto& ref = *inst;
  active[ref.id] = std::move(inst);
  nlohmann::json created = nlohmann::json::object();  // field by field: once per run
  created["type"] = "instance_created";
  created["workflow"] = def->name;
  created["version"] = def->version;
  created["definition"] = req.definition.is_null() ? json_of(def) : def->to_json();
  created["input"] = req.input;
  created["start_key"] = req.idempotency_key;
  created["trace"] = req.trace.empty() ? new_trace_id() : req.trace;
  created["by"] = req.by;
  created["trigger"] = req.trigger.is_object() ? req.trigger : nlohmann::json();
  emit(ref, std::move(created));
  batch.put(wfkey::active(ref.id), "");
  if (!req.idempotency_key.empty()) {
    batch.put(wfkey::start(req.idempotency_key),
              nlohmann::json{{"instance", ref.id}, {"input_hash", input_hash}}.dump());
    pending_starts[req.idempotency_key] = ref.id;
  }
  spdlog::info("workflow {} v{} started as {} by {}", def->name, def->version, ref.id, req.by);
  if (req.wait) waiters[ref.id].push_back(token);
  else {
    nlohmann::json started = nlohmann::json::object();
    started["instance"] = ref.id, started["workflow"] = def->name, started["version"] = def->version;
    started["state"] = "running", started["existing"] = false;
    reply(token, std::move(started));
  }
  safely(ref, [&] { advance(ref); });
}

const nlohmann::json& engine::impl::json_of(const std::shared_ptr<const workflow_definition>& def) {
  auto& [known, text] = definition_json[def->name];
  if (known != def) {  // loaded again (a reload) or not seen yet
    known = def;
    text = def->to_json();
  }
  return text;
}

void engine::impl::answer_existing(std::uint64_t token, const std::string& id, bool wait) {
  if (auto* inst = find(id)) {
    if (wait && inst->state == instance_state::paused) return reply(token, detail_json(*inst));
    if (wait) return waiters[id].push_back(token);
    auto s = summary_json(*inst);
    s["instance"] = id;
    s["existing"] = true;
    return reply(token, s);
  }
  auto stored = ws.get_json(wfkey::inst(id));
  if (!stored || !stored->has_value())
    return reply(token, error{errc::not_found, "instance " + id + " of this idempotency key is gone (pruned)"});
  auto s = **stored;
  s["instance"] = id;
  s["existing"] = true;
  reply(token, s);
}

}  // namespace keel::wf
