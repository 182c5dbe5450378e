// Config loading: the embedded default is valid, and every kind of mistake
// is reported with the origin, the line and the key path.
#include <boost/test/unit_test.hpp>

#include "runtime/node/node_config.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

#include <fstream>

using namespace keel;

namespace {
std::string error_of(const std::string& yaml) {
  auto r = parse_node_config(yaml, "test.yaml");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::config);
  return r.err().message;
}
using keel::test::has;
}  // namespace

BOOST_AUTO_TEST_SUITE(node_config_test)

BOOST_AUTO_TEST_CASE(embedded_default_matches_the_documented_defaults) {
  auto r = parse_node_config(embedded_node_config(), "embedded");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
  BOOST_TEST(r->listen == "tcp://127.0.0.1:7401");
  BOOST_TEST(r->heartbeat.count() == 1000);
  BOOST_TEST(r->heartbeat_misses == 3);
  BOOST_TEST(r->supervision.intensity == 3);
  BOOST_TEST(r->supervision.period.count() == 5000);
  BOOST_TEST(r->supervision.children.size() == 5u);
  BOOST_TEST(r->supervision.children[0].name == "executor");
  BOOST_TEST(!r->fault_injection);
}

BOOST_AUTO_TEST_CASE(per_agent_overrides) {
  auto r = parse_node_config(R"(
supervision: {strategy: rest_for_one, intensity: 5, period: 10s, backoff: {min: 50ms, max: 2s}}
agents:
  - name: executor
  - name: planner
    restart: transient
    backoff: {min: 1s, max: 4s}
)", "t.yaml");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
  BOOST_TEST((r->supervision.strategy == restart_strategy::rest_for_one));
  BOOST_TEST(r->supervision.children.size() == 2u);
  BOOST_TEST(r->supervision.children[0].backoff.min.count() == 50);
  BOOST_TEST((r->supervision.children[1].restart == restart_type::transient));
  BOOST_TEST(r->supervision.children[1].backoff.min.count() == 1000);
}

BOOST_AUTO_TEST_CASE(an_agent_shutdown_is_a_duration_brutal_kill_or_infinity) {
  auto r = parse_node_config("agents:\n  - name: executor\n    shutdown: 2s\n  - name: planner\n    shutdown: brutal_kill\n"
                             "  - name: monitor\n    shutdown: infinity\n  - name: retriever\n",
                             "t.yaml");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
  const auto& c = r->supervision.children;
  BOOST_TEST((c[0].shutdown.mode == shutdown_spec::how::timeout));
  BOOST_TEST(c[0].shutdown.timeout.count() == 2000);
  BOOST_TEST((c[1].shutdown.mode == shutdown_spec::how::brutal_kill));
  BOOST_TEST((c[2].shutdown.mode == shutdown_spec::how::infinity));
  BOOST_TEST(c[3].shutdown.timeout.count() == 5000);  // the default
  BOOST_TEST(to_string(c[0].shutdown) == "2s");
  BOOST_TEST(to_string(c[1].shutdown) == "brutal_kill");
  BOOST_TEST(has(error_of("agents:\n  - name: executor\n    shutdown: soon\n"), "agents[0].shutdown"));
  BOOST_TEST(has(error_of("agents:\n  - name: executor\n    shutdown: soon\n"), "brutal_kill or infinity"));
}

BOOST_AUTO_TEST_CASE(mistakes_name_the_line_and_key) {
  BOOST_TEST(has(error_of("node:\n  listn: tcp://127.0.0.1:1\n"), "test.yaml:2: node.listn: unknown key"));
  BOOST_TEST(has(error_of("gateway:\n  heartbeat: soon\n"), "gateway.heartbeat"));
  BOOST_TEST(has(error_of("dispatch:\n  max_attempts: 0\n"), "must be between 1 and 100"));
  BOOST_TEST(has(error_of("node:\n  fault_injection: maybe\n"), "expected true or false"));
  BOOST_TEST(has(error_of("supervision:\n  strategy: all_for_none\n"), "one_for_one, one_for_all or rest_for_one"));
  BOOST_TEST(has(error_of("agents:\n  - name: planer\n"), "unknown agent 'planer'"));
  BOOST_TEST(has(error_of("agents:\n  - name: executor\n  - name: executor\n"), "listed twice"));
  BOOST_TEST(has(error_of("agents:\n  - name: planner\n"), "executor agent is required"));
  BOOST_TEST(has(error_of("node: [1, 2\n"), "not valid YAML"));
  BOOST_TEST(has(error_of("node:\n  listen: http://x\n"), "ZeroMQ endpoint"));
  BOOST_TEST(has(error_of("surprise: 1\n"), "surprise: unknown key"));
  BOOST_TEST(has(error_of("supervision:\n  backoff: {min: 2s, max: 1s}\n"), "must not be smaller than min"));
}

// yaml-cpp keeps both entries of a repeated key and a loader would read
// one: the operator's other value would be ignored without a word.
BOOST_AUTO_TEST_CASE(a_key_written_twice_is_an_error_naming_both_lines) {
  BOOST_TEST(has(error_of("gateway:\n  heartbeat: 1s\n  heartbeat: 5s\n"),
                 "test.yaml:3: key 'heartbeat' appears twice in the same map (first at line 2): keep one"));
  BOOST_TEST(has(error_of("metrics: {port: 1}\nmetrics: {port: 2}\n"), "test.yaml:2: key 'metrics' appears twice"));
  // Sections other loaders read come through the same parser.
  BOOST_TEST(has(error_of("memory:\n  dimension: 64\n  dimension: 128\n"), "key 'dimension' appears twice"));
  // The same key in two different maps is fine.
  BOOST_TEST(parse_node_config("gateway: {heartbeat: 1s}\nworkflows: {retention: 1h}\n", "t.yaml").ok());
}

BOOST_AUTO_TEST_CASE(the_http_section_sets_the_servers_limits) {
  auto d = parse_node_config(embedded_node_config(), "embedded");
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(d->control.http.head_timeout.count() == 10000);
  BOOST_TEST(d->control.http.max_connections_per_client == 64);
  auto r = parse_node_config("http:\n  head_timeout: 2s\n  body_timeout: 1m\n  idle_timeout: 5s\n  max_header_bytes: 8192\n"
                             "  max_connections: 100\n  max_connections_per_client: 10\n  console_workers: 2\n"
                             "  console_queue: 8\n  hooks_workers: 3\n  hooks_queue: 16\n", "t.yaml");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
  const auto& h = r->control.http;
  BOOST_TEST(h.head_timeout.count() == 2000);
  BOOST_TEST(h.body_timeout.count() == 60000);
  BOOST_TEST(h.idle_timeout.count() == 5000);
  BOOST_TEST(h.max_header_bytes == 8192u);
  BOOST_TEST(h.max_connections == 100);
  BOOST_TEST(h.max_connections_per_client == 10);
  BOOST_TEST(h.console_workers == 2);
  BOOST_TEST(h.console_queue == 8u);
  BOOST_TEST(h.hooks_workers == 3);
  BOOST_TEST(h.hooks_queue == 16u);
  BOOST_TEST(has(error_of("http:\n  head_timout: 2s\n"), "test.yaml:2: http.head_timout: unknown key"));
  BOOST_TEST(has(error_of("http:\n  hooks_workers: 0\n"), "test.yaml:2: http.hooks_workers"));
  BOOST_TEST(has(error_of("http:\n  max_header_bytes: 10\n"), "must be between 1024 and"));
  BOOST_TEST(has(error_of("http:\n  max_connections: 10\n  max_connections_per_client: 20\n"),
                 "test.yaml:3: http.max_connections_per_client: must not exceed max_connections (10)"));
}

BOOST_AUTO_TEST_CASE(missing_file_says_what_to_do) {
  auto r = load_node_config_file("/nonexistent/node.yaml");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(has(r.err().message, "cannot read node config file '/nonexistent/node.yaml'"));
}

BOOST_AUTO_TEST_CASE(relative_paths_start_from_the_config_file) {
  keel::test::temp_dir dir{"keel-cfgpaths"};
  std::filesystem::create_directories(dir / "etc");
  std::ofstream(dir / "etc/node.yaml") << "node:\n  data_dir: ../state\n  key_file: keys/node.key\n"
                                          "workflows:\n  dir: workflows\n"
                                          "policy:\n  file: /abs/policy.yaml\n";
  auto r = load_node_config_file(dir / "etc/node.yaml");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
  auto etc = std::filesystem::absolute(dir / "etc").lexically_normal().string();
  BOOST_TEST(r->source_dir == etc);
  BOOST_TEST(r->data_dir == std::filesystem::absolute(dir / "state").lexically_normal().string());
  BOOST_TEST(r->key_file == etc + "/keys/node.key");
  BOOST_TEST(r->workflows_dir == etc + "/workflows");
  BOOST_TEST(r->control.policy_file == "/abs/policy.yaml");  // absolute: as written
  BOOST_TEST(r->control.secrets_key_file.empty());            // not written: the default
  // The embedded config has no file: its defaults stay relative to the working directory.
  auto embedded = load_embedded_node_config();
  BOOST_REQUIRE(embedded.ok());
  BOOST_TEST(embedded->source_dir.empty());
  BOOST_TEST(embedded->workflows_dir == "config/workflows");  // from the working directory, as ever
  BOOST_TEST(embedded->data_dir == "keel-data");

  std::ofstream(dir / "etc/executor.yaml") << "executor:\n  files_dir: out\n  key_file: /k/e.key\n";
  auto e = load_executor_config_file(dir / "etc/executor.yaml");
  BOOST_REQUIRE_MESSAGE(e.ok(), (e.ok() ? std::string() : e.err().message));
  BOOST_TEST(e->files_dir == etc + "/out");
  BOOST_TEST(e->key_file == "/k/e.key");
}

BOOST_AUTO_TEST_CASE(executor_config_and_labels) {
  auto r = parse_executor_config(
      "executor:\n  caps: [echo]\n  labels: {site: db1}\n  concurrency: 3\nshell:\n  allow: [date]\n", "e.yaml");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
  BOOST_TEST(r->caps == (std::vector<std::string>{"echo"}), boost::test_tools::per_element());
  BOOST_TEST(r->labels.at("site") == "db1");
  BOOST_TEST(r->concurrency == 3);
  auto bad = parse_executor_config("executor:\n  concurency: 3\n", "e.yaml");
  BOOST_TEST(has(bad.err().message, "e.yaml:2: executor.concurency: unknown key"));
  auto l = parse_labels("site=db1, gpu=true");
  BOOST_REQUIRE(l.ok());
  BOOST_TEST(l->at("gpu") == "true");
  BOOST_TEST(!parse_labels("site").ok());
  BOOST_TEST(!parse_labels("=x").ok());
}

BOOST_AUTO_TEST_SUITE_END()
