// The agents are on the data path: workflow reads go through the retriever
// and connector events through the canonicalizer, so crashing either one
// (keelctl fault crash) while work flows through it is seen and recovered,
// never walked around. Real processes: a node with fault injection and a
// raised restart intensity, crashed again and again while instances and
// events are in flight. Every instance still completes exactly once, every
// event lands once (one record version, one triggered instance), nothing
// is dead-lettered; the node log shows the work that was in flight being
// retried rather than lost. The other long-lived parts of the tree (the
// gateway, the memory worker, the control service, the connectors, the
// console) restart on a crash too, and the node serves again.
#include <fstream>

#include "tests/integration/node_fixture.hpp"

using namespace keel;
using namespace keel::test;

namespace {

// Room for many crashes in a row: the default intensity (3 in 5 s) would
// rightly give up on an agent crashed this often.
// The backoff is capped below the ~3 s a workflow read waits for the
// retriever (actors/executor/workflows.cpp): every round's reads meet it
// down, and with the default cap (5 s) the sixth restart would outlast them.
const std::string tolerant = "supervision: {intensity: 100, period: 5s, backoff: {min: 100ms, max: 800ms}}\n";

nlohmann::json tree_row(test_node& w, const std::string& name) {
  auto r = w.call("agents", nlohmann::json::object());
  if (!r.ok()) return nullptr;
  for (const auto& a : r->at("agents"))
    if (a["name"] == name) return a;
  return nullptr;
}

bool running(test_node& w, const std::string& name) {
  auto row = tree_row(w, name);
  return !row.is_null() && row["state"] == "running";
}

// Crashes `name` and waits until its next incarnation runs.
void crash(test_node& w, const std::string& name) {
  auto before = tree_row(w, name);
  BOOST_REQUIRE_MESSAGE(!before.is_null(), name << " is not in the tree");
  auto r = w.call("fault.crash", {{"agent", name}});
  BOOST_REQUIRE_MESSAGE(r.ok(), "fault.crash " << name << ": " << (r.ok() ? "" : r.err().message));
  BOOST_REQUIRE_MESSAGE(wait_until([&] {
                          auto row = tree_row(w, name);
                          return !row.is_null() && row["state"] == "running" && row["restarts"] > before["restarts"];
                        }, 20s),
                        name << " did not come back; node log:\n" << w.log());
}

// Every instance of `workflow` the node lists.
std::vector<nlohmann::json> instances_of(test_node& w, const std::string& workflow) {
  std::vector<nlohmann::json> out;
  auto r = w.call("tasks", {{"limit", 10000}});
  if (!r.ok()) return out;
  for (const auto& i : r->at("instances"))
    if (i["workflow"] == workflow) out.push_back(i);
  return out;
}

// How many events of `type` an instance's history holds, by step.
std::map<std::string, int> steps_with(test_node& w, const std::string& id, const std::string& type) {
  std::map<std::string, int> out;
  auto h = w.call("history", {{"id", id}});
  BOOST_REQUIRE_MESSAGE(h.ok(), "history " << id);
  for (const auto& e : h->at("events"))
    if (e.value("type", std::string()) == type) out[e.value("step", std::string())]++;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_data_path_crash_test)

BOOST_AUTO_TEST_CASE(workflow_reads_go_through_the_retriever_and_survive_its_crashes) {
  temp_dir dir("keel-crash-reads");
  write_file(dir / "workflows/lookup.yaml", R"(
name: lookup
steps:
  - {id: first, action: memory.search, args: {query: "invoice {{ input.n }}", k: 5}}
  - {id: second, needs: [first], action: memory.search, args: {query: "refund {{ input.n }}", k: 5}}
  - {id: third, needs: [second], action: memory.search, args: {query: "support {{ input.n }}", k: 5}}
)");
  test_node w(dir, {.workflows = true});
  w.start("metrics: {port: 0}\n" + tolerant);
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return running(w, "retriever"); }, 20s), w.log());
  // Something to search: the reads then take the memory worker a moment.
  for (int i = 0; i < 200; ++i)
    BOOST_REQUIRE(w.call("memory.add", {{"text", "invoice " + std::to_string(i) + " refund support mail note"}}).ok());

  // Rounds of starts with a crash of the retriever in the middle of each:
  // the starts after the crash send their reads while it is crashing or
  // down, and the reads of the earlier ones may be on their way to it, on
  // it, or on the worker. A crash only after a round's last start would
  // find every read answered on an idle machine: an instance takes about
  // 2 ms.
  const int rounds = 6, per_round = 40;
  int n = 0;
  auto start_some = [&](int count) {
    for (int i = 0; i < count; ++i, ++n) {
      auto r = w.call("run-workflow", {{"workflow", "lookup"}, {"input", {{"n", n}}},
                                       {"idempotency_key", "lookup-" + std::to_string(n)}});
      BOOST_REQUIRE_MESSAGE(r.ok(), "run-workflow: " << (r.ok() ? "" : r.err().message));
    }
  };
  for (int round = 0; round < rounds; ++round) {
    auto before = tree_row(w, "retriever")["restarts"].get<int>();
    start_some(per_round / 2);
    auto r = w.call("fault.crash", {{"agent", "retriever"}});
    BOOST_REQUIRE_MESSAGE(r.ok(), "fault.crash retriever: " << (r.ok() ? "" : r.err().message));
    start_some(per_round - per_round / 2);
    BOOST_REQUIRE_MESSAGE(wait_until([&] {
                            auto row = tree_row(w, "retriever");
                            return !row.is_null() && row["state"] == "running" && row["restarts"] > before;
                          }, 20s),
                          "the retriever did not come back; node log:\n" << w.log());
  }

  // Every instance completes, and each of its reads completed exactly once.
  const std::size_t total = rounds * per_round;
  BOOST_REQUIRE_MESSAGE(wait_until([&] {
                          auto all = instances_of(w, "lookup");
                          return all.size() == total && std::all_of(all.begin(), all.end(), [](const auto& i) {
                                   return i["state"] == "completed";
                                 });
                        }, 60s),
                        "not every instance completed; node log:\n" << w.log());
  for (const auto& i : instances_of(w, "lookup")) {
    auto done = steps_with(w, i["id"], "step_completed");
    BOOST_TEST(done.size() == 3u, i.dump());
    for (const auto& [step, n] : done) BOOST_TEST(n == 1, i["id"] << "/" << step << " completed " << n << " times");
    BOOST_TEST(steps_with(w, i["id"], "step_failed").empty(), i.dump());
  }
  // The crashes hit reads in flight, and those were sent again, not lost.
  BOOST_TEST(w.proc().log_contains("waits for the retriever"), w.log());
  BOOST_TEST(tree_row(w, "retriever")["restarts"] == rounds);
}

BOOST_AUTO_TEST_CASE(connector_events_go_through_the_canonicalizer_and_survive_its_crashes) {
  temp_dir dir("keel-crash-events");
  const int rows = 400;
  {
    std::ofstream csv(dir / "crm.csv");
    csv << "Customer ID,Email,Full Name\n";
    for (int i = 0; i < rows; ++i) csv << "crm_" << i << ",user" << i << "@example.com,User " << i << "\n";
  }
  // Each event starts an instance whose one step reads the record the
  // event wrote: both memory agents are on this path.
  write_file(dir / "workflows/welcome.yaml", R"(
name: welcome
trigger: {event: contact.updated}
steps:
  - {id: customer, action: records.get, args: {type: customer, field: email, value: "{{ input.email }}"}}
)");
  test_node w(dir, {.workflows = true});
  w.start("metrics: {port: 0}\n" + default_memory_section() + tolerant +
              "connectors:\n  - name: crm\n    kind: files\n    path: " + (dir / "crm.csv") +
              "\n    batch: 20\n    mapping:\n      type: contact.updated\n      id: Customer ID\n"
              "      fields: {id: Customer ID, email: Email, name: Full Name}\n");
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return running(w, "canonicalizer") && running(w, "connectors"); }, 20s),
                        w.log());

  // The import runs while the canonicalizer (and once the retriever) is
  // crashed under it, until the log shows an event the crash caught in
  // flight going round again.
  process sync({KEELCTL_BIN, "--endpoint", w.endpoint, "--timeout", "120s", "connectors", "sync", "crm"},
               dir / "sync.log");
  int crashes = 0;
  for (; crashes < 12; ++crashes) {
    crash(w, crashes == 2 ? "retriever" : "canonicalizer");
    if (crashes >= 3 && w.proc().log_contains("delivering event crm/")) break;
  }
  BOOST_TEST(w.proc().log_contains("delivering event crm/"), "no event was in flight at any crash; node log:\n"
                                                                << w.log());

  // Every event: one record, one version; one instance, completed.
  BOOST_REQUIRE_MESSAGE(wait_until([&] {
                          auto all = instances_of(w, "welcome");
                          return all.size() == static_cast<std::size_t>(rows) &&
                                 std::all_of(all.begin(), all.end(), [](const auto& i) { return i["state"] == "completed"; });
                        }, 120s),
                        "not every event's instance completed (" << instances_of(w, "welcome").size() << " of " << rows
                                                                 << "); node log:\n" << w.log());
  auto records = w.call("records.list", {{"type", "customer"}, {"limit", 10000}});
  BOOST_REQUIRE(records.ok());
  BOOST_TEST(records->at("records").size() == static_cast<std::size_t>(rows));
  for (const auto& r : records->at("records")) BOOST_TEST(r["version"] == 1, r.dump());
  for (const auto& i : instances_of(w, "welcome")) {
    auto done = steps_with(w, i["id"], "step_completed");
    BOOST_TEST(done["customer"] == 1, i.dump());
  }
  auto dlq = w.call("dlq.list", nlohmann::json::object());
  BOOST_REQUIRE(dlq.ok());
  BOOST_TEST(dlq->at("total") == 0, dlq->dump());
  auto conn = w.call("connectors.list", nlohmann::json::object());
  BOOST_REQUIRE(conn.ok());
  BOOST_TEST(conn->at("connectors")[0]["events_out"] == rows, conn->dump());
}

BOOST_AUTO_TEST_CASE(every_part_of_the_tree_restarts_and_the_node_serves_again) {
  temp_dir dir("keel-crash-parts");
  test_node w(dir, {.workflows = true});
  w.start("metrics: {port: " + std::to_string(free_port()) + "}\n" + tolerant);
  w.add_executors(1);
  auto rows = w.call("agents", nlohmann::json::object());
  BOOST_REQUIRE(rows.ok());
  std::vector<std::string> names;
  for (const auto& a : rows->at("agents")) names.push_back(a["name"]);
  const std::vector<std::string> expected{"memory", "gateway", "serving", "ctlops", "agents", "planner", "retriever",
                                          "canonicalizer", "executor", "monitor", "connectors", "notifier", "console"};
  BOOST_TEST(names == expected, rows->dump());
  auto serving = tree_row(w, "serving");
  BOOST_TEST(serving["kind"] == "supervisor");
  BOOST_TEST(serving["shutdown"] == "infinity");
  auto refused = w.call("fault.crash", {{"agent", "agents"}});
  BOOST_TEST(!refused.ok());

  for (const char* part : {"ctlops", "connectors", "notifier", "console", "gateway", "memory"}) {
    BOOST_TEST_CONTEXT("crashed " << part) {
      crash(w, part);
      // The executor says hello again to a restarted executor agent (a
      // gateway or memory restart restarts everything after it).
      BOOST_REQUIRE_MESSAGE(w.wait_for_executors(1, 20s), w.log());
      auto echo = w.call("run", {{"action", "echo"}, {"args", {{"after", part}}}}, 10s);
      BOOST_REQUIRE_MESSAGE(echo.ok(), (echo.ok() ? std::string() : echo.err().message));
      BOOST_TEST(echo->at("result")["after"] == part);
      BOOST_TEST(w.call("audit.tail", {{"n", 1}}).ok());
      BOOST_TEST(w.call("memory.status", nlohmann::json::object()).ok());
      BOOST_TEST(w.call("connectors.list", nlohmann::json::object()).ok());
    }
  }
  auto gw = tree_row(w, "gateway");
  BOOST_TEST(gw["restarts"] == 2);  // its own crash, and memory's (rest_for_one)
  BOOST_TEST(w.proc().log_contains("supervisor: gateway exited"));
  BOOST_TEST(w.call("status", nlohmann::json::object())->at("node")["state"] == "ok");
  // A clean stop after all that.
  BOOST_TEST(w.proc().terminate() == 0, w.log());
}

BOOST_AUTO_TEST_SUITE_END()
