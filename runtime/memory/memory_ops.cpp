// The memory ops' entry points (memory_ops.hpp): an op by its name, and a
// connector event to canonicalize with the memory note its mapping asks for.
// Each runs guarded: an exception becomes an internal error for that call.
// The ops themselves live by API: records_ops.cpp, memory_item_ops.cpp,
// dlq_ops.cpp.
#include "runtime/memory/memory_ops.hpp"

#include <functional>
#include <set>

#include "runtime/base/utf8.hpp"
#include "runtime/memory/op_args.hpp"
#include "runtime/memory/op_handlers.hpp"
#include "storage/memory/content_hash.hpp"

namespace keel {

namespace memory_op {

namespace mem = keel::memory;

json outcome_json(const mem::ingest_outcome& o) {
  json j = {{"outcome", mem::to_string(o.what)}};
  if (!o.entity_type.empty()) {
    j["entity_type"] = o.entity_type;
    j["entity_id"] = o.entity_id;
    j["version"] = o.version;
    j["created"] = o.created;
  }
  if (o.what == mem::ingest_outcome::kind::dead_lettered) j["dead_letter_id"] = o.dead_letter_id;
  if (!o.reason.empty()) j["reason"] = o.reason;
  return j;
}

}  // namespace memory_op

bool is_memory_op(const std::string& op) {
  static const std::set<std::string> ops{"records.put",   "records.get",   "records.list",  "records.history", "records.search",
                                         "records.forget", "records.purge",
                                         "memory.add",    "memory.import", "memory.search", "memory.forget", "memory.prune",    "memory.status",
                                         "memory.reembed",
                                         "dlq.list",      "dlq.show",      "dlq.replay"};
  return ops.count(op) > 0;
}

const char* memory_op_agent(const std::string& op) {
  return op.rfind("memory.", 0) == 0 ? "retriever" : "canonicalizer";
}

namespace {

using nlohmann::json;
using namespace memory_op;
namespace mem = keel::memory;

// Memory work runs on the memory worker thread, which has no one above it
// to catch: an exception (a bug, or input of a shape nothing checked)
// becomes an internal error for this one call instead of ending the node.
result<json> guarded(const std::string& what, const std::function<result<json>()>& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return error{errc::internal, what + " failed: " + utf8::repaired(e.what()) + "; please report it"};
  }
}

result<json> dispatch_op(memory_service& m, const std::string& op, const json& args_in, const std::string& actor) {
  static const json empty = json::object();
  const json& args = args_in.is_object() ? args_in : empty;
  if (!args_in.is_object() && !args_in.is_null()) return bad(op + " takes a JSON object of arguments");
  if (op == "records.put") return records_put(m, args);
  if (op == "records.get") return records_get(m, args);
  if (op == "records.list") return records_list(m, args);
  if (op == "records.history") return records_history(m, args);
  if (op == "records.search") return records_search(m, args);
  if (op == "records.forget") return records_forget(m, args, actor);
  if (op == "records.purge") return records_purge(m, args, actor);
  if (op == "memory.add") return memory_add(m, args);
  if (op == "memory.import") return memory_import(m, args);
  if (op == "memory.search") return memory_search(m, args);
  if (op == "memory.forget") return memory_forget(m, args);
  if (op == "memory.prune") return memory_prune(m, args);
  if (op == "memory.status") return memory_status(m);
  if (op == "memory.reembed") return memory_reembed(m);
  if (op == "dlq.list") return dlq_list(m, args);
  if (op == "dlq.show") return dlq_show(m, args);
  if (op == "dlq.replay") return dlq_replay(m, args);
  return bad("unknown memory operation '" + op + "'; upgrade keelctl and the node together");
}

// The event's memory note (mapping `note:`), written once per event content:
// the marker canon/note/<hash of the event without its id> commits with the
// item, so a redelivered event (a crash between the record and the note, or
// a sender's retry) neither loses the note nor writes it twice.
status write_note(memory_service& m, const json& event, const mem::ingest_outcome& o) {
  if (o.what == mem::ingest_outcome::kind::dead_lettered || o.entity_id.empty()) return ok_v;
  auto text = m.canon().note_for(event);
  if (text.empty()) return ok_v;
  json content = event;
  content.erase("id");
  auto marker = "canon/note/" + mem::content_hash(content.dump());
  auto seen = m.db().get(marker);
  if (!seen) return seen.err();
  if (seen->has_value()) return ok_v;
  mem::memory_item it;
  it.text = text;
  it.kind = "event";
  it.about = o.entity_type + ":" + o.entity_id;
  it.source = event.value("source", std::string("connector"));
  it.source_event = event.value("id", std::string());
  if (o.version > 0) it.record_ref = o.entity_type + "/" + o.entity_id + "@" + std::to_string(o.version);
  auto added = m.memory().add(std::move(it), {{marker, "1"}});
  if (!added) return added.err();
  return ok_v;
}

}  // namespace

result<json> run_memory_op(memory_service& m, const std::string& op, const json& args, const std::string& actor) {
  return guarded(op, [&] { return dispatch_op(m, op, args, actor); });
}

result<json> canonicalize(memory_service& m, const json& event) {
  return guarded("canonicalizing the event", [&]() -> result<json> {
    auto o = m.canon().ingest(event);
    if (!o) return o.err();
    if (auto s = write_note(m, event, *o); !s) return s.err();
    return outcome_json(*o);
  });
}

}  // namespace keel
