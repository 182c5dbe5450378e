// Paths in a node config are read from the config file's directory, not
// from wherever the node was started (the test runs the node from its own
// working directory, far from the config); a workflows directory that is
// missing or empty is a warning in the log and in `keelctl status`.
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(config_paths_test)

BOOST_AUTO_TEST_CASE(a_config_elsewhere_finds_its_workflows) {
  temp_dir dir("keel-cfgpaths");
  write_file(dir / "etc/flows/hello.yaml", "name: hello\nsteps:\n  - {id: a, action: echo, args: {hi: 1}}\n");
  write_file(dir / "etc/node.yaml", "workflows:\n  dir: flows\n");
  auto node = start_node({dir / "data", dir / "node.log", {}, dir / "etc/node.yaml"});
  auto list = keelctl(node.endpoint, {"--json", "workflows"});
  BOOST_REQUIRE_MESSAGE(list.code == 0, list.err);
  BOOST_TEST(has(list.out, "\"hello\""), list.out);
  auto st = keelctl(node.endpoint, {"--json", "status"});
  BOOST_REQUIRE_MESSAGE(st.code == 0, st.err);
  auto j = nlohmann::json::parse(st.out);
  BOOST_TEST(j["node"]["warnings"].empty(), j["node"]["warnings"].dump());
}

BOOST_AUTO_TEST_CASE(a_missing_workflows_dir_is_a_warning_naming_it) {
  temp_dir dir("keel-cfgpaths");
  write_file(dir / "etc/node.yaml", "workflows:\n  dir: nowhere\n");
  auto node = start_node({dir / "data", dir / "node.log", {}, dir / "etc/node.yaml"});
  auto abs = std::filesystem::absolute(dir / "etc/nowhere").lexically_normal().string();
  auto st = keelctl(node.endpoint, {"--json", "status"});
  BOOST_REQUIRE_MESSAGE(st.code == 0, st.err);
  auto warnings = nlohmann::json::parse(st.out)["node"]["warnings"];
  BOOST_REQUIRE(warnings.size() == 1);
  BOOST_TEST(has(warnings[0].get<std::string>(), "workflows.dir " + abs + " does not exist"));
  BOOST_TEST(has(warnings[0].get<std::string>(), "set workflows.dir in " + (dir / "etc/node.yaml")));
  auto text = keelctl(node.endpoint, {"status"});
  BOOST_TEST(has(text.out, "warning: workflows.dir " + abs), text.out);
  BOOST_TEST(node.proc->log_contains("workflows.dir " + abs + " does not exist"));
  // Starting a workflow there names the directory, not only "loaded: none".
  auto run = keelctl(node.endpoint, {"run-workflow", "hello"});
  BOOST_TEST(run.code != 0);
  BOOST_TEST(has(run.err, "no workflow named 'hello' (loaded: none)"), run.err);
  BOOST_TEST(has(run.err, "workflows.dir " + abs + " does not exist"), run.err);

  // A directory that is there but holds no definition says that instead.
  node.proc->terminate();
  std::filesystem::create_directories(dir / "etc/nowhere");
  auto again = start_node({dir / "data", dir / "node2.log", {}, dir / "etc/node.yaml"});
  auto st2 = nlohmann::json::parse(keelctl(again.endpoint, {"--json", "status"}).out);
  BOOST_REQUIRE(st2["node"]["warnings"].size() == 1);
  BOOST_TEST(has(st2["node"]["warnings"][0].get<std::string>(), "holds no workflow definition that loaded (no *.yaml files)"));
}

BOOST_AUTO_TEST_SUITE_END()
