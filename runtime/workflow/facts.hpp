// The facts behind an operator's decision: what started a workflow
// instance, the canonical record it is about, and what its earlier steps
// retrieved, each with its provenance. A gate or a question records them
// when it opens (so the decision can be audited later against what the
// operator saw), `keelctl approvals` and the console show them.
//
// Steps read the node's memory with two node-local actions, whose results
// carry provenance: `records.get` {type, id} -> {record: {type, id, version,
// source, event_id, fields, ...}} and `memory.search` {query, ...} -> {hits:
// [{id, score, text, source, source_event, record_ref, ...}]}. CAF-free.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "runtime/workflow/instance.hpp"

namespace keel::wf {

// The node's own reads of its memory (records.get, memory.search): their
// results are the facts later gates show.
bool is_node_read(const std::string& action);
// Everything the node runs itself against its memory: the reads and
// memory.add (a note, added once per step key).
bool is_node_memory_op(const std::string& action);

// A connector event {type, id, source, canonical?: {type, id, version}} ->
// the instance's trigger {type, id, source, record?}. Null for a non-object.
nlohmann::json trigger_of(const nlohmann::json& event);

// {trigger?, record?, retrieval: [...]} for an instance, from its trigger
// and its completed node-read steps (in completion order):
//   record: {type, id, version, source, step?} the last record a step read,
//           else the record the trigger's event wrote;
//   retrieval: [{step, action: "records.get", record: {...}}
//             | {step, action: "memory.search", query, hits: [{id, score, text, source, source_event, record_ref}]}]
nlohmann::json decision_facts(const instance& inst);

}  // namespace keel::wf
