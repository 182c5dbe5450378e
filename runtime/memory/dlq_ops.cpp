// The dlq.* ops: list the dead letters (events the canonicalizer could not
// map), show one with its event, and replay one or all with the current
// mappings. A replay's answer is the ingest outcome (outcome_json).
#include "runtime/memory/op_args.hpp"
#include "runtime/memory/op_handlers.hpp"

namespace keel::memory_op {

namespace mem = keel::memory;

namespace {

json dead_letter_json(const mem::dead_letter& d, bool with_event) {
  json j = {{"id", d.id},
            {"source", d.event.is_object() ? d.event.value("source", json()) : json()},
            {"type", d.event.is_object() ? d.event.value("type", json()) : json()},
            {"event_id", d.event.is_object() ? d.event.value("id", json()) : json()},
            {"reason", d.reason},
            {"first_ms", d.first_ms},
            {"last_ms", d.last_ms},
            {"attempts", d.attempts}};
  if (with_event) j["event"] = d.event;
  return j;
}

}  // namespace

result<json> dlq_list(memory_service& m, const json& args) {
  auto limit = opt_int(args, "limit", 1, 10'000);
  if (!limit) return limit.err();
  auto after = opt_int(args, "after", 0, INT64_MAX);
  if (!after) return after.err();
  auto list = m.dead_letters().list(static_cast<std::size_t>(limit->value_or(100)),
                                    static_cast<std::uint64_t>(after->value_or(0)));
  if (!list) return list.err();
  auto total = m.dead_letters().count();
  if (!total) return total.err();
  json out = json::array();
  for (const auto& d : *list) out.push_back(dead_letter_json(d, false));
  return json{{"dead_letters", std::move(out)}, {"total", *total}};
}

result<json> dlq_show(memory_service& m, const json& args) {
  auto id = opt_int(args, "id", 1, INT64_MAX);
  if (!id) return id.err();
  if (!*id) return bad("missing \"id\": the dead letter's number (see `keelctl dlq list`)");
  auto d = m.dead_letters().show(static_cast<std::uint64_t>(**id));
  if (!d) return d.err();
  return json{{"dead_letter", dead_letter_json(*d, true)}};
}

result<json> dlq_replay(memory_service& m, const json& args) {
  if (args.value("all", false) == true) {
    auto rep = m.canon().replay_all();
    if (!rep) return rep.err();
    // A replay is the operator's hand in the data path (the report counts them).
    m.audit("dlq_replay", args.value("by", std::string("operator")), "all",
            {{"applied", rep->applied}, {"still_failing", rep->still_failing}});
    return json{{"applied", rep->applied}, {"still_failing", rep->still_failing}};
  }
  auto id = opt_int(args, "id", 1, INT64_MAX);
  if (!id) return id.err();
  if (!*id) return bad("name a dead letter {\"id\": N} or {\"all\": true} (see `keelctl dlq list`)");
  auto o = m.canon().replay(static_cast<std::uint64_t>(**id));
  if (!o) return o.err();
  m.audit("dlq_replay", args.value("by", std::string("operator")), std::to_string(**id), {{"outcome", outcome_json(*o)}});
  return json{{"id", **id}, {"outcome", outcome_json(*o)}};
}

}  // namespace keel::memory_op
