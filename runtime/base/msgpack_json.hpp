// Conversion between msgpack (the wire) and nlohmann::json (how Keel code
// handles free-form payloads such as action arguments and results).
// Only the JSON-compatible subset of msgpack is accepted: map keys must be
// strings; bin and ext values are refused. Depth is bounded by the caller's
// unpack limits, so the recursion here is bounded too.
#pragma once

#include <functional>
#include <string_view>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel {

result<nlohmann::json> msgpack_to_json(const msgpack::object& o);
// Converts the msgpack map `map` into a JSON object, except the entries
// `claim` takes (it returns true for those): how a caller reads a few keys
// itself without building and then erasing their JSON values. Errors as
// msgpack_to_json's, for `map` not being a map too.
result<nlohmann::json> msgpack_map_to_json(
    const msgpack::object& map, const std::function<bool(std::string_view key, const msgpack::object& value)>& claim);
void pack_json(msgpack::packer<msgpack::sbuffer>& pk, const nlohmann::json& j);

}  // namespace keel
