// The admin requests keelctl sends about connectors, as functions over the
// node's connector hub (the gateway bridge routes "connectors.*" here):
//   connectors.list {}                  -> {"connectors": [state + schedule, ...]}
//   connectors.sync {"name", "full"?}   -> {records_in, events_out, duplicates, dead_lettered, commits}
// `reply` is called exactly once: at once for list and for a refused sync,
// from the runner thread when a sync has run. Never blocks the caller.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/connectors/connector_hub.hpp"

namespace keel::connectors {

bool is_connector_op(const std::string& op);
nlohmann::json to_json(const sync_report& r);

using op_reply = std::function<void(result<nlohmann::json>)>;
void run_connector_op(connector_hub& hub, const std::string& op, const nlohmann::json& args, op_reply reply);

}  // namespace keel::connectors
