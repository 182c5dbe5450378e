#include "adapters/connectors/connector_ops.hpp"

#include "runtime/base/json_fields.hpp"

namespace keel::connectors {

bool is_connector_op(const std::string& op) { return op == "connectors.list" || op == "connectors.sync"; }

nlohmann::json to_json(const sync_report& r) {
  return {{"records_in", r.records_in}, {"events_out", r.events_out}, {"duplicates", r.duplicates},
          {"dead_lettered", r.dead_lettered}, {"commits", r.commits}};
}

void run_connector_op(connector_hub& hub, const std::string& op, const nlohmann::json& args, op_reply reply) {
  if (op == "connectors.list") return reply(nlohmann::json{{"connectors", hub.status()}});
  if (op != "connectors.sync") return reply(error{errc::bad_request, "unknown connectors op '" + op + "'"});
  auto name = text_field(args, "name");
  if (name.empty()) return reply(error{errc::bad_request, "connectors.sync needs {\"name\": CONNECTOR}"});
  auto shared = std::make_shared<op_reply>(std::move(reply));
  auto queued = hub.request_sync(name, bool_field(args, "full"), [shared](result<sync_report> r) {
    if (!r) return (*shared)(r.err());
    (*shared)(to_json(*r));
  });
  if (!queued) (*shared)(queued.err());
}

}  // namespace keel::connectors
