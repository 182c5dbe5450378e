// JSON arguments larger than one command-line argument may be (128 KiB on
// Linux): keelctl reads them from @FILE or from stdin (-), and they reach a
// real node and an executor's echo action whole. A file that is missing,
// not UTF-8, not JSON or nested too deep is refused before anything is
// sent, with the file's name and what to do.
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

namespace {

// About 900 KiB of JSON: the most that fits, with the request around it, in
// the 1 MiB frames of the node (gateway.max_frame_bytes) and the executor.
json big_echo_arguments() {
  json items = json::array();
  for (int i = 0; i < 9000; ++i) items.push_back({{"n", i}, {"text", std::string(80, static_cast<char>('a' + i % 26))}});
  return {{"items", items}, {"note", "Jos\xC3\xA9"}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(keelctl_large_arguments_test)

BOOST_AUTO_TEST_CASE(a_megabyte_of_json_reaches_echo_from_a_file_and_from_stdin) {
  test_node c;
  c.start();
  c.add_executors(1);
  const auto big = big_echo_arguments();
  const auto path = c.dir / "big.json";
  std::ofstream(path) << big.dump();
  BOOST_TEST_MESSAGE("arguments: " << big.dump().size() << " bytes");
  BOOST_REQUIRE(big.dump().size() > 800u * 1024);

  auto from_file = c.ctl({"--json", "run", "echo", "--args", "@" + path});
  BOOST_REQUIRE_MESSAGE(from_file.code == 0, from_file.err);
  BOOST_TEST(json::parse(from_file.out)["result"] == big);

  auto from_stdin = keelctl_with_stdin(c.endpoint, {"--json", "run", "echo", "--args", "-"}, path);
  BOOST_REQUIRE_MESSAGE(from_stdin.code == 0, from_stdin.err);
  BOOST_TEST(json::parse(from_stdin.out)["result"] == big);

  // Inline, it cannot even be started: execve refuses an argument this long.
  auto inline_arg = c.ctl({"run", "echo", "--args", big.dump()});
  BOOST_TEST(inline_arg.code == 127);

  // The other JSON arguments take files and stdin too.
  std::ofstream(c.dir / "fields.json") << R"({"email": "ana@example.com", "plan": "pro"})";
  BOOST_TEST(c.ctl({"records", "put", "customer", "c_1", "@" + (c.dir / "fields.json")}).code == 0);
  BOOST_TEST(c.require("records.get", {{"type", "customer"}, {"id", "c_1"}})["record"]["fields"]["plan"] == "pro");
  std::ofstream(c.dir / "ping.json") << R"({"ping": true})";
  auto sent = keelctl_with_stdin(c.endpoint, {"send", "planner", "-"}, c.dir / "ping.json");
  BOOST_TEST(sent.code == 0, sent.err);
}

BOOST_AUTO_TEST_CASE(bad_files_are_named_with_what_to_do_and_nothing_is_sent) {
  temp_dir dir("keel-bigargs");
  const auto nowhere = endpoint_for(free_port());  // refused before any request, so no node is needed
  auto run_with = [&](const std::string& file_text, const std::string& name) {
    std::ofstream(dir / name, std::ios::binary) << file_text;
    return keelctl(nowhere, {"run", "echo", "--args", "@" + (dir / name)});
  };

  auto missing = keelctl(nowhere, {"run", "echo", "--args", "@" + (dir / "nope.json")});
  BOOST_TEST(missing.code == 2);
  BOOST_TEST(has(missing.err, "cannot read " + (dir / "nope.json") + " for --args: No such file or directory; check the path"),
             missing.err);

  auto latin1 = run_with("{\"text\": \"Jos\xE9\"}", "latin1.json");
  BOOST_TEST(latin1.code == 2);
  BOOST_TEST(has(latin1.err, "--args from " + (dir / "latin1.json") + " is not UTF-8 text (byte 0xe9 at position 14)"), latin1.err);
  BOOST_TEST(has(latin1.err, "iconv"), latin1.err);

  auto not_json = run_with("{text: 1}", "bad.json");
  BOOST_TEST(not_json.code == 2);
  BOOST_TEST(has(not_json.err, "--args from " + (dir / "bad.json") + " is not valid JSON"), not_json.err);

  auto deep = run_with(std::string(200000, '[') + std::string(200000, ']'), "deep.json");
  BOOST_TEST(deep.code == 2);
  BOOST_TEST(has(deep.err, "is nested deeper than 32 levels"), deep.err);

  std::ofstream(dir / "array.json") << "[1, 2]";
  auto not_object = keelctl(nowhere, {"records", "put", "customer", "c_1", "@" + (dir / "array.json")});
  BOOST_TEST(not_object.code == 2);
  BOOST_TEST(has(not_object.err, "FIELDS from " + (dir / "array.json") + " must be a JSON object"), not_object.err);

  auto stdin_not_json = keelctl_with_stdin(nowhere, {"run-workflow", "refund", "--input", "-"}, dir / "bad.json");
  BOOST_TEST(stdin_not_json.code == 2);
  BOOST_TEST(has(stdin_not_json.err, "--input from standard input is not valid JSON"), stdin_not_json.err);

  auto approve = keelctl(nowhere, {"approve", "wf_1/pay", "--args", "@" + (dir / "nope.json")});
  BOOST_TEST(approve.code == 2);
  BOOST_TEST(has(approve.err, "for --args"), approve.err);
}

BOOST_AUTO_TEST_SUITE_END()
