// keelctl's human output when the node's data is hostile: ids and keys that
// carry terminal escape sequences, a carriage return, a NUL, DEL, a C1 CSI
// and a bidi override, and a 200 KB id, put through a real node (dead
// letters, records, a workflow instance waiting at a gate, memory). No
// view lets a raw control byte reach the terminal or runs a line away, and
// --json gives back the exact bytes.
#include "tests/integration/node_fixture.hpp"
#include "tests/support/raw_controls.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

namespace {

// ESC sequences that recolour and clear, a CR that would overwrite the
// line, a NUL that would cut it, DEL, the C1 CSI (U+009B), an RLO (U+202E).
const char hostile_event_bytes[] = "evt_\x1b[31mRED\x1b[2J\rOVER\0NUL\x7f\xC2\x9B" "1m\xE2\x80\xAEgnp";
const std::string hostile_event_id(hostile_event_bytes, sizeof hostile_event_bytes - 1);
const std::string huge_event_id = "evt_" + std::string(200 * 1024, 'L');

const std::string hostile_memory_yaml = R"(memory:
  entities:
    order:
      fields: {shop_id: string, total: number, note: string}
      identity: [shop_id]
  mappings:
    - source: shop
      event: order.paid
      entity: order
      fields:
        shop_id: data.id
        total: {from: data.customer, convert: number}
)";

// A human view of hostile data: it ran, shows nothing raw, stays bounded.
void check_hostile_view(const command_result& r, const std::string& what) {
  BOOST_TEST_INFO(what << ": " << r.err);
  BOOST_TEST(r.code == 0);
  auto at = first_raw_control(r.out);
  BOOST_TEST(at == std::string::npos, what << ": raw control byte at " << at << " in:\n" << r.out.substr(0, 4000));
  BOOST_TEST(first_raw_control(r.err) == std::string::npos, what << " (stderr)");
  BOOST_TEST(longest_line(r.out) <= 1100u, what << ": a line of " << longest_line(r.out) << " bytes");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(keelctl_hostile_output_test)

BOOST_AUTO_TEST_CASE(hostile_ids_are_escaped_and_cut_for_people_and_exact_in_json) {
  temp_dir dir("keel-hostile");
  write_file(dir / "workflows/gated.yaml", R"(
name: gated
steps:
  - {id: pay, action: echo, args: {note: "{{ input.note }}"}, gate: {when: "true"}}
)");
  test_node w(dir, {.workflows = true, .operator_name = "ana"});
  w.start(hostile_memory_yaml);

  // Dead letters whose event ids are hostile (the mapping cannot convert the total).
  for (const auto& id : {hostile_event_id, huge_event_id}) {
    json event = {{"source", "shop"}, {"type", "order.paid"}, {"id", id}, {"data", {{"id", "o_" + std::to_string(id.size())}, {"customer", "x"}}}};
    auto sent = w.call("send", {{"agent", "canonicalizer"}, {"message", event}});
    BOOST_REQUIRE_MESSAGE(sent.ok(), (sent.ok() ? "" : sent.err().message));
    BOOST_REQUIRE_MESSAGE(sent->value("outcome", "") == "dead_lettered", sent->dump());
  }
  auto dlq = w.ctl({"dlq", "list"});
  check_hostile_view(dlq, "dlq list");
  BOOST_TEST(has(dlq.out, "evt_\\x1b[31mRED\\x1b[2J\\rOVER\\0NUL\\x7f\\u009b1m\\u202egnp"), dlq.out);
  BOOST_TEST(has(dlq.out, "LLL\xE2\x80\xA6"));  // the 200 KB id, cut with an ellipsis
  auto dlq_json = json::parse(w.ctl({"--json", "dlq", "list"}).out);
  std::vector<std::string> event_ids;
  for (const auto& d : dlq_json["dead_letters"]) event_ids.push_back(d["event_id"]);
  BOOST_TEST((event_ids == std::vector<std::string>{hostile_event_id, huge_event_id}));
  for (const auto& d : dlq_json["dead_letters"]) {
    auto id = std::to_string(d["id"].get<std::uint64_t>());
    check_hostile_view(w.ctl({"dlq", "show", id}), "dlq show " + id);
    BOOST_TEST(json::parse(w.ctl({"--json", "dlq", "show", id}).out)["dead_letter"]["event"]["id"] == d["event_id"]);
  }

  // Record ids are checked by the node, field values are not: a record with
  // hostile values, written through the client and through argv.
  auto put = w.call("records.put", {{"type", "order"}, {"id", "o_1"}, {"fields", {{"shop_id", "s_1"}, {"note", hostile_event_id}}}});
  BOOST_REQUIRE_MESSAGE(put.ok(), (put.ok() ? "" : put.err().message));
  const std::string argv_note = "\x1b[31mRED\x1b[2J\rOVER\x7f\xC2\x9B" "1m\xE2\x80\xAEgnp";
  auto put_argv = w.ctl({"records", "put", "order", "o_2", json{{"shop_id", "s_2"}, {"note", argv_note}}.dump()});
  check_hostile_view(put_argv, "records put");
  BOOST_TEST(w.call("records.get", {{"type", "order"}, {"id", "o_2"}})->at("record")["fields"]["note"] == argv_note);
  check_hostile_view(w.ctl({"records", "list", "order"}), "records list");
  check_hostile_view(w.ctl({"records", "search", "RED"}), "records search");
  check_hostile_view(w.ctl({"records", "get", "order", "o_1"}), "records get");
  check_hostile_view(w.ctl({"records", "history", "order", "o_2"}), "records history");
  // The node's own error quotes the hostile id it refuses.
  auto refused = w.ctl({"records", "get", "order", "o_" + argv_note});
  BOOST_TEST(refused.code == 1);
  BOOST_TEST(first_raw_control(refused.err) == std::string::npos, refused.err);
  BOOST_TEST(has(refused.err, "o_\\x1b[31mRED"), refused.err);
  BOOST_TEST(w.call("memory.add", {{"text", "customer said " + hostile_event_id + " twice"}}).ok());
  check_hostile_view(w.ctl({"memory", "search", "customer said"}), "memory search");

  // A workflow instance started with a hostile idempotency key and input, held at its gate.
  auto started = w.call("run-workflow", {{"workflow", "gated"}, {"input", {{"note", hostile_event_id}}}, {"idempotency_key", hostile_event_id}});
  BOOST_REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.err().message));
  auto instance = started->value("instance", "");
  BOOST_REQUIRE(wait_until([&] { return w.task(instance).value("waiting_for", "") == "approval of step pay"; }, 10s));
  auto task = w.ctl({"task", instance});
  check_hostile_view(task, "task");
  BOOST_TEST(has(task.out, "idempotency key evt_\\x1b[31mRED"), task.out);
  BOOST_TEST(json::parse(w.ctl({"--json", "task", instance}).out)["start_key"] == hostile_event_id);
  check_hostile_view(w.ctl({"tasks"}), "tasks");
  check_hostile_view(w.ctl({"history", instance}), "history");
  check_hostile_view(w.ctl({"approvals"}), "approvals");
  check_hostile_view(w.ctl({"audit", "tail"}), "audit tail");

  // The same instance with a 200 KB key: its detail view is bounded too.
  auto big = w.call("run-workflow", {{"workflow", "gated"}, {"input", {{"note", huge_event_id}}}, {"idempotency_key", huge_event_id}});
  BOOST_REQUIRE_MESSAGE(big.ok(), (big.ok() ? "" : big.err().message));
  check_hostile_view(w.ctl({"task", big->value("instance", "")}), "task with a 200 KB key");
  check_hostile_view(w.ctl({"approvals"}), "approvals with a 200 KB input");
}

BOOST_AUTO_TEST_SUITE_END()
