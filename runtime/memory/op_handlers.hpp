// Internal to the memory ops: one function per op, grouped by API as the
// files are (records_ops.cpp, memory_item_ops.cpp, dlq_ops.cpp), for the
// dispatcher in memory_ops.cpp. Arguments arrive as a JSON object (the
// dispatcher refuses anything else); each op's arguments, answer and errors
// are listed in memory_ops.hpp. They may throw on a bug: the dispatcher
// guards them.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/memory/memory_service.hpp"
#include "storage/memory/event_mapper.hpp"

namespace keel::memory_op {

using nlohmann::json;

result<json> records_put(memory_service& m, const json& args);
result<json> records_get(memory_service& m, const json& args);
result<json> records_list(memory_service& m, const json& args);
result<json> records_history(memory_service& m, const json& args);
result<json> records_search(memory_service& m, const json& args);
result<json> records_forget(memory_service& m, const json& args, const std::string& actor);
result<json> records_purge(memory_service& m, const json& args, const std::string& actor);

result<json> memory_add(memory_service& m, const json& args);
result<json> memory_import(memory_service& m, const json& args);
result<json> memory_search(memory_service& m, const json& args);
result<json> memory_forget(memory_service& m, const json& args);
result<json> memory_prune(memory_service& m, const json& args);
result<json> memory_status(memory_service& m);
result<json> memory_reembed(memory_service& m);

result<json> dlq_list(memory_service& m, const json& args);
result<json> dlq_show(memory_service& m, const json& args);
result<json> dlq_replay(memory_service& m, const json& args);

// An ingest's outcome as canonicalize and dlq.replay answer it.
json outcome_json(const memory::ingest_outcome& o);

}  // namespace keel::memory_op
