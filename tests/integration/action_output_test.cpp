// What an action brings back from outside (a program's output, an HTTP
// body) can be any bytes; the wire carries UTF-8 only. The caller must
// still get the result, readable, not a task that times out because the
// node refused the executor's answer.
#include "tests/integration/node_fixture.hpp"

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(action_output_test)

BOOST_AUTO_TEST_CASE(output_that_is_not_utf8_reaches_the_caller_repaired) {
  test_node c;
  c.start();
  c.add_executors(1);
  // /bin/echo -e writes the byte 0xE9 (latin1 "é"): the default executor
  // config allows echo in the shell action.
  auto r = c.cli->call("run", {{"action", "shell"}, {"args", {{"cmd", "echo"}, {"args", {"-e", "caf\\xe9 ok"}}}}, {"timeout_ms", 10000}},
                       15s);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message) << "\nexecutor log:\n" << c.executors[0]->log());
  BOOST_TEST(r->at("result").at("stdout") == "caf\xEF\xBF\xBD ok\n", r->dump());
  BOOST_TEST(!c.executors[0]->log_contains("refused"), c.executors[0]->log());
}

BOOST_AUTO_TEST_SUITE_END()
