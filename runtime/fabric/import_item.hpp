// One memory.import item, as keelctl reads it from a line of a JSON Lines
// file and as the node takes it: {text, about?, kind?, source?, ttl_ms?,
// created_ms?}. Both sides check it with this function, so a file keelctl
// accepts is one the node accepts, field for field (the node then applies
// memory's own rules: the characters of kind, about and source).
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel::fabric {

inline constexpr std::size_t import_text_limit = 64 * 1024;  // memory's limit on one item's text

// ok, or bad_request whose message names the field and what it must be
// ('"kind" must be a string', 'unknown field "colour" (known: ...)').
status check_import_item(const nlohmann::json& item);

}  // namespace keel::fabric
