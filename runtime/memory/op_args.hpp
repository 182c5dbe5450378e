// Internal to the memory ops: reading an op's JSON arguments. Each reader
// returns the value or a bad_request that names the argument, says what it
// must be and gives an example, so a caller can fix the call from the
// message alone. Search arguments are compared case-folded (lower()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/memory/memory_service.hpp"

namespace keel::memory_op {

error bad(const std::string& why);  // a bad_request

// A required non-empty string: `what` says what it is ("missing \"type\": the entity type, e.g. customer").
result<std::string> need_text(const nlohmann::json& args, const char* key, const char* what);
// An optional string ("" when absent or null).
result<std::string> opt_text(const nlohmann::json& args, const char* key);
// An optional whole number in [lo, hi] (nullopt when absent or null).
result<std::optional<std::int64_t>> opt_int(const nlohmann::json& args, const char* key, std::int64_t lo, std::int64_t hi);
// An optional string or list of strings (empty when absent or null).
result<std::vector<std::string>> opt_list(const nlohmann::json& args, const char* key);

// Errors: the record store's (not_found for an undeclared type), with where types are declared.
status known_type(memory_service& m, const std::string& type);

struct record_ref {
  std::string type, id;
};
// {type, id} naming a record of a declared entity type.
result<record_ref> need_record(memory_service& m, const nlohmann::json& args);

// A field value as the text a person searches for: strings as they are,
// everything else as JSON (42, true).
std::string field_text(const nlohmann::json& v);
std::string lower(std::string s);  // ASCII case-folded

}  // namespace keel::memory_op
