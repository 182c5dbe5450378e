// The memory operations keelctl (and any client) sends a node, as pure
// functions from JSON arguments to a JSON answer over a memory_service.
// They run on the memory worker thread. Every error is a value naming the
// argument that is wrong and what to do; bad input writes nothing.
//
//   records.put     {type, id, fields, source?, expected_version?, replace?} -> {type, id, version, changed, hash}
//   records.get     {type, id | field + value, at?: RFC 3339 | ms}          -> {record}
//                   (field: an identity key, e.g. {type: customer, field: email, value: ana@example.com})
//   records.history {type, id}                                              -> {type, id, versions: [...]}
//   records.list    {type, limit?}                                          -> {type, records, more}
//   records.search  {type?, field?, value?, text?, limit?}                  -> {records, more, scanned}
//   records.forget  {type, id, source?, expected_version?}                  -> {type, id, version, forgotten_ms, forgotten_at, before}
//                   (a tombstone version: history kept; audit entry record_forget)
//   records.purge   {type, id}                                              -> {type, id, versions_removed, summary_removed, warning?}
//                   (every version, identity entries and the memory summary; irreversible;
//                   audit entry record_purge without field values)
//   memory.add      {text, about?, kind?, ttl_ms?, source?}                 -> {item}
//   memory.import   {items: [{text, about?, kind?, source?, ttl_ms?, created_ms?}] (1..1000)} -> {added, skipped, total_items}
//   memory.search   {query, about?, mentions?, kinds?, sources?, since_ms?, until_ms?, k?, min_score?, explain?}
//                                                                           -> {hits, warnings, total_items}
//   memory.forget   {id}                                                    -> {forgotten}
//   memory.prune    {dry_run?}                                              -> {dry_run, items, records}
//   memory.status   {}                                                      -> {items, index_items, ..., reembed}
//   memory.reembed  {}                                                      -> {started, reembed: {state, done, total, ...}}
//   dlq.list        {limit?, after?}                                        -> {dead_letters, total}
//   dlq.show        {id}                                                    -> {dead_letter}
//   dlq.replay      {id} | {all: true}                                      -> {outcome} | {applied, still_failing}
// and `canonicalize` (a connector event) for the canonicalizer agent.
// CAF-free.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "runtime/memory/memory_service.hpp"
#include "runtime/base/error.hpp"

namespace keel {

// True for the op names above: the gateway bridge routes them to the agents
// (records.* and dlq.* to the canonicalizer, memory.* to the retriever).
bool is_memory_op(const std::string& op);
const char* memory_op_agent(const std::string& op);

// Runs one op. bad_request for an unknown op name; internal if the op
// threw (it never throws: the memory worker must not die on one call). `actor` (the key's name
// on a node with keys) is who the audit trail says forgot or purged.
result<nlohmann::json> run_memory_op(memory_service& m, const std::string& op, const nlohmann::json& args,
                                     const std::string& actor = "operator");

// A connector event {"source", "type", "id", "data"} -> {outcome: applied |
// unchanged | duplicate | dead_lettered, entity_type, entity_id, version,
// created, dead_letter_id, reason}. A dead letter is an outcome, not an
// error; a malformed event is a bad_request (nothing written), and one the
// canonicalizer threw on is an internal error.
result<nlohmann::json> canonicalize(memory_service& m, const nlohmann::json& event);

}  // namespace keel
