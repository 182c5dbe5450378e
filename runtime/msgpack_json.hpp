// Conversion between msgpack (the wire) and nlohmann::json (how Keel code
// handles free-form payloads such as action arguments and results).
// Only the JSON-compatible subset of msgpack is accepted: map keys must be
// strings; bin and ext values are refused. Depth is bounded by the caller's
// unpack limits, so the recursion here is bounded too.
#pragma once

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "runtime/error.hpp"

namespace keel {

result<nlohmann::json> msgpack_to_json(const msgpack::object& o);
void pack_json(msgpack::packer<msgpack::sbuffer>& pk, const nlohmann::json& j);

}  // namespace keel
