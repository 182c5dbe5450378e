// Secrets end to end, with real processes: set through keelctl from stdin,
// used by a workflow step as secret://NAME (the executor gets the value),
// and then absent from every file under the test dir (data dir and logs),
// every key and value of the store, and every keelctl output, plain and
// --json. A reference that arrives in data (the instance's input, an
// earlier step's result) stays text; a secret nothing grants is usable by
// no action. A wrong vault key stops start-up with a clear message and
// changes nothing in the data dir.
#include "tests/integration/node_fixture.hpp"
#include "tests/integration/store_checks.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {
const std::string plaintext = "sk_live_Zq7PLAINTEXT_4e91c0d2b7";
}

BOOST_AUTO_TEST_SUITE(control_node_secrets_test)

BOOST_AUTO_TEST_CASE(a_secret_is_used_by_a_step_and_appears_nowhere) {
  temp_dir dir("keel-secrets");
  write_file(dir / "workflows/charge.yaml", R"(
name: charge
steps:
  - {id: call_api, action: echo, args: {token: "secret://stripe_api_key", amount: "{{ input.amount }}"}}
)");
  write_file(dir / "input/value.txt", plaintext + "\n");
  test_node w(dir, {.workflows = true});
  w.start(control_yaml("") + "secret_scopes:\n  stripe_api_key: [echo]\n");
  w.add_executors(1);

  std::vector<command_result> outputs;
  auto set = keelctl_with_stdin(w.endpoint, {"secrets", "set", "stripe_api_key"}, dir / "input/value.txt");
  BOOST_TEST(set.code == 0, set.out + set.err);
  BOOST_TEST(has(set.out, "secret://stripe_api_key"));
  outputs.push_back(set);
  auto set_json = keelctl_with_stdin(w.endpoint, {"--json", "secrets", "set", "stripe_api_key"}, dir / "input/value.txt");
  BOOST_TEST(set_json.code == 0, set_json.out + set_json.err);
  BOOST_TEST(nlohmann::json::parse(set_json.out)["secret"]["version"] == 2);  // a rotation
  outputs.push_back(set_json);

  auto run = w.ctl({"--json", "run-workflow", "charge", "--input", "{\"amount\": 12}", "--wait"});
  BOOST_REQUIRE_MESSAGE(run.code == 0, run.out + run.err);
  outputs.push_back(run);
  auto id = nlohmann::json::parse(run.out)["id"].get<std::string>();
  // The executor received the value: echo returned it, and the node redacted it before recording.
  auto task = w.ctl({"--json", "task", id});
  BOOST_TEST(has(task.out, "[redacted:stripe_api_key]"), task.out);
  outputs.push_back(task);

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"secrets", "list"}, {"task", id}, {"history", id}, {"audit", "tail", "-n", "100"}, {"accounts"},
           {"trace", id}, {"models"}, {"status"}}) {
    outputs.push_back(w.ctl(args));
    auto json_args = args;
    json_args.insert(json_args.begin(), "--json");
    outputs.push_back(w.ctl(json_args));
  }
  auto list = w.ctl({"secrets", "list"});
  BOOST_TEST(has(list.out, "stripe_api_key"));
  auto audit = w.ctl({"--json", "audit", "tail", "-n", "100"});
  BOOST_TEST(has(audit.out, "\"secret_use\""), audit.out);  // by name only

  w.executors.clear();
  BOOST_TEST(w.proc().terminate() == 0);
  expect_plaintext_nowhere(plaintext, outputs, dir.path(), dir / "data");
}

// The operator's definition names one secret; the instance's input and an
// earlier step's result carry the same text. Only the definition's own
// reference is resolved: the rest reaches the action as the literal text.
BOOST_AUTO_TEST_CASE(a_reference_that_arrives_in_data_stays_text) {
  temp_dir dir("keel-secrets-data");
  write_file(dir / "workflows/leak.yaml", R"(
name: leak
steps:
  - {id: first, action: echo, args: {relay: "{{ input.name }}"}}
  - id: second
    needs: [first]
    action: echo
    args:
      token: "secret://stripe_api_key"
      name: "{{ input.name }}"
      nested: {list: ["{{ input.plan }}", "secret://stripe_api_key is the header"]}
      echoed: "{{ steps.first.result.relay }}"
)");
  write_file(dir / "input/value.txt", plaintext + "\n");
  test_node w(dir, {.workflows = true});
  w.start(control_yaml("") + "secret_scopes:\n  stripe_api_key: [echo]\n");
  w.add_executors(1);
  auto set = keelctl_with_stdin(w.endpoint, {"secrets", "set", "stripe_api_key"}, dir / "input/value.txt");
  BOOST_REQUIRE_MESSAGE(set.code == 0, set.out + set.err);

  auto run = w.ctl({"--json", "run-workflow", "leak", "--input",
                    R"({"name": "secret://stripe_api_key", "plan": "secret://stripe_api_key"})", "--wait"});
  BOOST_REQUIRE_MESSAGE(run.code == 0, run.out + run.err);
  auto id = nlohmann::json::parse(run.out)["id"].get<std::string>();
  auto task = nlohmann::json::parse(w.ctl({"--json", "task", id}).out);
  nlohmann::json second;
  for (const auto& s : task["steps"])
    if (s["id"] == "second") second = s;
  BOOST_REQUIRE_MESSAGE(second.is_object(), task.dump());
  const auto& result = second["result"];
  BOOST_TEST(result["token"] == "[redacted:stripe_api_key]", result.dump());  // the definition's own: resolved
  BOOST_TEST(result["name"] == "secret://stripe_api_key", result.dump());     // from the input: text
  BOOST_TEST(result["nested"]["list"][0] == "secret://stripe_api_key", result.dump());
  BOOST_TEST(result["echoed"] == "secret://stripe_api_key", result.dump());   // from a step's result: text
  // One use, by the definition's reference, is what the trail records.
  auto audit = nlohmann::json::parse(w.ctl({"--json", "audit", "tail", "-n", "100"}).out);
  int uses = 0;
  for (const auto& e : audit["entries"]) uses += e["kind"] == "secret_use";
  BOOST_TEST(uses == 1, audit.dump());
  w.executors.clear();
  BOOST_TEST(w.proc().terminate() == 0);
}

// No scope and no account: no action may use the secret, and the refusal
// says what to add to the config.
BOOST_AUTO_TEST_CASE(a_secret_nothing_grants_is_usable_by_no_action) {
  temp_dir dir("keel-secrets-unscoped");
  write_file(dir / "workflows/charge.yaml", R"(
name: charge
steps:
  - {id: call_api, action: echo, args: {token: "secret://stripe_api_key"}, retry: {max_attempts: 1, on_exhausted: fail}}
)");
  write_file(dir / "input/value.txt", plaintext + "\n");
  test_node w(dir, {.workflows = true});
  w.start(control_yaml(""));
  w.add_executors(1);
  auto set = keelctl_with_stdin(w.endpoint, {"secrets", "set", "stripe_api_key"}, dir / "input/value.txt");
  BOOST_REQUIRE_MESSAGE(set.code == 0, set.out + set.err);
  auto run = w.ctl({"--json", "run-workflow", "charge", "--wait"});
  BOOST_TEST(run.code != 0, run.out + run.err);
  auto adhoc = w.ctl({"run", "echo", "--args", R"({"token": "secret://stripe_api_key"})"});
  BOOST_TEST(adhoc.code != 0, adhoc.out + adhoc.err);
  for (const auto& out : {run.out + run.err, adhoc.out + adhoc.err}) {
    BOOST_TEST(has(out, "has no scope, so no action may use it"), out);
    BOOST_TEST(has(out, "secret_scopes: {stripe_api_key: [echo]}"), out);
    BOOST_TEST(!has(out, plaintext), out);
  }
  w.executors.clear();
  BOOST_TEST(w.proc().terminate() == 0);
}

BOOST_AUTO_TEST_CASE(a_wrong_key_fails_start_up_and_changes_nothing) {
  temp_dir dir("keel-secrets-key");
  test_node w(dir, {.workflows = true});
  w.start(control_yaml(""));
  write_file(dir / "input/value.txt", plaintext);
  auto set = keelctl_with_stdin(w.endpoint, {"secrets", "set", "db_password"}, dir / "input/value.txt");
  BOOST_REQUIRE_MESSAGE(set.code == 0, set.out + set.err);
  BOOST_TEST(w.proc().terminate() == 0);

  auto key_file = dir / "data/vault.key";
  BOOST_REQUIRE(std::filesystem::exists(key_file));
  BOOST_TEST(((std::filesystem::status(key_file).permissions() & std::filesystem::perms::all) ==
              (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)));
  // Another valid key in its place (as after restoring the wrong backup).
  std::ofstream(key_file, std::ios::trunc) << std::string(64, 'a') << "\n";
  auto before = dump_store(dir / "data");
  auto key_before = read_all(key_file);

  process node({KEEL_BIN, "node", "--listen", w.endpoint, "--data-dir", dir / "data", "--config", w.config_path(), "--insecure"},
               dir / "wrong-key.log");
  int code = node.wait_exit(20s);
  BOOST_TEST(code != 0);
  auto log = node.log();
  BOOST_TEST(has(log, "secrets:"), log);
  BOOST_TEST(!has(log, "keel node ready"), log);
  BOOST_TEST(read_all(key_file) == key_before);  // never re-generated
  auto after = dump_store(dir / "data");
  // The store's own start counter is the only record a start attempt writes.
  before.erase("meta/identity");
  after.erase("meta/identity");
  BOOST_TEST((before == after));
  BOOST_TEST(before.count("ctl/secret/db_password") == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
