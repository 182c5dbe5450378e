// Policy and secrets on ad-hoc `keelctl run` tasks, with real processes:
// a deny rule refuses naming the rule; an escalate rule refuses (an ad-hoc
// task cannot wait at a gate) naming the rule; a fail-closed rule says
// which field was missing; secret:// reaches the executor only for an
// action the secret is scoped to, and is refused with a clear error
// otherwise. Afterwards neither plaintext is in any file under the test
// dir (data dir and logs), any key or value of the store, or any keelctl
// output; the audit trail holds the decisions, secret uses and side effects.
#include "tests/integration/node_fixture.hpp"
#include "tests/integration/store_checks.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {
const std::string echo_secret = "tok_ECHO_plain_7731aa0d";
const std::string sleep_secret = "tok_SLEEP_plain_99e2bc41";
}  // namespace

BOOST_AUTO_TEST_SUITE(control_node_run_test)

BOOST_AUTO_TEST_CASE(run_tasks_pass_policy_and_get_only_their_scoped_secrets) {
  temp_dir dir("keel-run-policy");
  write_file(dir / "policy.yaml", R"(version: 1
default: allow
rules:
  - {name: no-shell, effect: deny, match: {action: shell}, reason: no shell from the CLI}
  - {name: big-echo, effect: escalate, match: {action: echo, kind: task}, when: "amount > 100"}
)");
  write_file(dir / "input/echo.txt", echo_secret);
  write_file(dir / "input/sleep.txt", sleep_secret);
  test_node w(dir, {.workflows = true});
  w.start(control_yaml(dir / "policy.yaml") +
              "secret_scopes:\n  echo_token: [echo]\n  sleep_token: [sleep]\n");
  w.add_executors(1);
  std::vector<command_result> outputs;
  auto keep = [&](command_result r) {
    outputs.push_back(r);
    return r;
  };
  BOOST_REQUIRE(keep(keelctl_with_stdin(w.endpoint, {"secrets", "set", "echo_token"}, dir / "input/echo.txt")).code == 0);
  BOOST_REQUIRE(keep(keelctl_with_stdin(w.endpoint, {"secrets", "set", "sleep_token"}, dir / "input/sleep.txt")).code == 0);

  // Allowed, with the secret it is scoped to: the executor got the value
  // (echo returns it) and the caller sees it redacted.
  auto ok = keep(w.ctl({"--json", "run", "echo", "--args", R"({"token": "secret://echo_token", "amount": 5})"}));
  BOOST_TEST(ok.code == 0, ok.out + ok.err);
  BOOST_TEST(has(ok.out, "[redacted:echo_token]"), ok.out);

  // A secret scoped to another action is refused before anything runs.
  auto scoped = keep(w.ctl({"run", "echo", "--args", R"({"token": "secret://sleep_token", "amount": 5})"}));
  BOOST_TEST(scoped.code != 0);
  BOOST_TEST(has(scoped.out + scoped.err, "not scoped to action 'echo'"), scoped.out + scoped.err);

  // Deny names the rule and its reason.
  auto denied = keep(w.ctl({"run", "shell", "--args", R"({"argv": ["true"]})"}));
  BOOST_TEST(denied.code != 0);
  BOOST_TEST(has(denied.out + denied.err, "policy rule 'no-shell' denies shell: no shell from the CLI"),
             denied.out + denied.err);

  // Escalate cannot wait on an ad-hoc task: refused, naming the rule and what to do.
  auto big = keep(w.ctl({"run", "echo", "--args", R"({"amount": 500})"}));
  BOOST_TEST(big.code != 0);
  BOOST_TEST(has(big.out + big.err, "policy rule 'big-echo' requires an operator's approval"), big.out + big.err);
  BOOST_TEST(has(big.out + big.err, "keelctl run-workflow"), big.out + big.err);

  // Fail closed on a missing field, and the message says which one.
  auto missing = keep(w.ctl({"run", "echo", "--args", R"({"text": "hi"})"}));
  BOOST_TEST(missing.code != 0);
  BOOST_TEST(has(missing.out + missing.err, "no field 'amount'"), missing.out + missing.err);

  // The trail: decisions with their rules, the secret use by name, the side effect.
  BOOST_TEST(wait_until([&] {
               auto a = w.ctl({"--json", "audit", "tail", "-n", "200"});
               return has(a.out, "\"side_effect\"") && has(a.out, "\"rule\": \"no-shell\"") &&
                      has(a.out, "\"rule\": \"big-echo\"") && has(a.out, "\"secret_use\"");
             }, 10s),
             w.ctl({"--json", "audit", "tail", "-n", "200"}).out);
  keep(w.ctl({"--json", "audit", "tail", "-n", "200"}));
  keep(w.ctl({"audit", "tail", "-n", "200"}));
  BOOST_TEST(keep(w.ctl({"audit", "verify"})).code == 0);

  w.executors.clear();
  BOOST_TEST(w.proc().terminate() == 0);
  for (const auto& secret : {echo_secret, sleep_secret}) expect_plaintext_nowhere(secret, outputs, dir.path(), dir / "data");
}

// Routine work is not audited per task and its spans are rate-limited;
// effects and failures always are, and the rule that allowed the routine
// tasks is recorded once as a summary. The recorder writes in order, so once the last
// task's entry and span are visible, every earlier one that was written is.
BOOST_AUTO_TEST_CASE(pure_successes_skip_the_audit_and_their_spans_are_sampled) {
  temp_dir dir("keel-run-routine");
  test_node w(dir, {.workflows = true});
  write_file(dir / "policy.yaml", R"(version: 1
default: allow
rules:
  - {name: echo-is-fine, effect: allow, match: {kind: task, action: echo}}
)");
  w.start(control_yaml(dir / "policy.yaml") + "tracing:\n  pure_task_spans_per_second: 3\n");
  w.add_executors(1);

  auto run = [&](const std::string& action, const nlohmann::json& args, const std::string& trace) {
    auto id = w.cli->send("run", {{"action", action}, {"args", args}, {"timeout_ms", 5000}}, trace);
    BOOST_REQUIRE(id.ok());
    auto r = w.cli->receive(10s);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
    return r.value();
  };
  auto trace_of = [](int n) {  // trace ids are 32 lower-case hex digits
    char b[33];
    std::snprintf(b, sizeof b, "%032x", n);
    return std::string(b);
  };
  const int echoes = 10;
  for (int i = 0; i < echoes; ++i) {
    auto r = run("echo", {{"i", i}}, trace_of(i + 1));
    BOOST_TEST(r.ok, r.err.message);
  }
  BOOST_TEST(run("file.append", {{"file", "out.txt"}, {"line", "hello"}}, trace_of(100)).ok);
  BOOST_TEST(!run("fail", {{"message", "on purpose"}}, trace_of(101)).ok);

  auto spans_of = [&](const std::string& trace) {
    auto r = w.call("trace", {{"id", trace}});
    return r.ok() ? r->at("spans").size() : std::size_t{0};
  };
  auto trail = [&] { return w.ctl({"--json", "audit", "tail", "-n", "100"}).out; };
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return spans_of(trace_of(101)) == 1 && has(trail(), "\"action\": \"fail\""); }, 10s),
                        trail());
  auto entries = nlohmann::json::parse(trail());
  int effect = 0, failed = 0, echo = 0;
  for (const auto& e : entries.at("entries")) {
    if (e.value("kind", "") != "side_effect") continue;
    auto action = e.at("detail").value("action", "");
    effect += action == "file.append";
    failed += action == "fail";
    echo += action == "echo";
  }
  BOOST_TEST(effect == 1);
  BOOST_TEST(failed == 1);
  BOOST_TEST(echo == 0);
  BOOST_TEST(spans_of(trace_of(100)) == 1U);
  // The first echo opened a sampling window, so it was kept; ten in well
  // under two seconds cannot all be.
  BOOST_TEST(spans_of(trace_of(1)) == 1U);
  std::size_t kept = 0;
  for (int i = 0; i < echoes; ++i) kept += spans_of(trace_of(i + 1));
  BOOST_TEST(kept < static_cast<std::size_t>(echoes));

  // The rule that allowed the echoes is recorded once, as a summary: at the
  // end of its 10 s window, or (here) when the node stops cleanly.
  w.executors.clear();
  BOOST_TEST(w.proc().terminate() == 0);
  w.start(control_yaml(dir / "policy.yaml"));
  int summaries = 0;
  auto after_restart = nlohmann::json::parse(trail());  // named: a range-for over a temporary's member dangles
  for (const auto& e : after_restart.at("entries")) {
    if (e.value("kind", "") != "policy_decision") continue;
    ++summaries;
    BOOST_TEST(e.at("detail").value("rule", "") == "echo-is-fine");
    BOOST_TEST(e.at("detail").value("count", 0) == echoes);
    BOOST_TEST(e.at("detail").value("summarised", false));
  }
  BOOST_TEST(summaries == 1);
  BOOST_TEST(w.ctl({"audit", "verify"}).code == 0);
}

BOOST_AUTO_TEST_SUITE_END()
