// CURVE authentication on a real node: without an authorized key nothing
// gets through; an executor key cannot send admin requests; authorization
// narrows caps and labels; a revoked key is cut off and its tasks move on;
// a node started without keys makes its own, and keelctl on the same
// machine finds them.
#include "tests/integration/node_fixture.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

using namespace keel;
using namespace keel::test;

namespace {
std::string keygen(const std::string& path) {
  auto r = run_command({KEEL_BIN, "keygen", "--out", path}, 10s);
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  return r.out.substr(0, 40);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(auth_test)

BOOST_AUTO_TEST_CASE(only_authorized_keys_get_in_and_roles_are_enforced) {
  temp_dir dir("keel-auth");
  auto node_pub = keygen(dir / "node.key");
  auto admin_pub = keygen(dir / "admin.key");
  auto exec_pub = keygen(dir / "db1.key");
  auto stranger_pub = keygen(dir / "stranger.key");
  struct stat st{};
  BOOST_REQUIRE(::stat((dir / "node.key").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_TEST(run_command({KEEL_BIN, "keygen", "--out", dir / "node.key"}, 10s).code != 0);  // never overwritten

  auto node = start_node({dir / "data", dir / "node.log", {"--key", dir / "node.key", "--admin-key", admin_pub}, ""});
  auto keys_of = [&](const std::string& file) { return curve_client_keys{node_pub, read_key_file(dir / file).value()}; };

  auto plain = client::connect(node.endpoint).value();
  BOOST_TEST(!plain->call("ping", nlohmann::json::object(), 1s).ok());  // no CURVE: no answer
  auto stranger_keys = keys_of("stranger.key");
  auto stranger = client::connect(node.endpoint, &stranger_keys).value();
  BOOST_TEST(!stranger->call("ping", nlohmann::json::object(), 1s).ok());  // unknown key: refused at the handshake

  auto admin_keys = keys_of("admin.key");
  auto admin = client::connect(node.endpoint, &admin_keys).value();
  BOOST_REQUIRE(admin->call("ping", nlohmann::json::object(), 5s).ok());
  auto auth = admin->call("executors.authorize", {{"public_key", exec_pub}, {"name", "db1"}, {"caps", {"echo"}}, {"labels", {{"site", "db1"}}}}, 5s);
  BOOST_REQUIRE_MESSAGE(auth.ok(), (auth.ok() ? std::string() : auth.err().message));
  std::ifstream f(dir / "data/authorized_keys.json");
  BOOST_TEST(std::string(std::istreambuf_iterator<char>(f), {}).find("db1") != std::string::npos);
  BOOST_REQUIRE(::stat((dir / "data/authorized_keys.json").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);

  // The executor offers echo and sleep, but its key allows echo only, and its labels come from the authorization.
  auto exec = start_executor(node.endpoint, "whatever", dir / "exec.log",
                             {"--server-key", node_pub, "--key", dir / "db1.key", "--caps", "echo,sleep", "--labels", "site=elsewhere"});
  BOOST_REQUIRE(wait_until([&] {
    auto r = admin->call("executors", nlohmann::json::object(), 2s);
    return r.ok() && r->at("executors").size() == 1;
  }, 10s));
  auto listed = admin->call("executors", nlohmann::json::object(), 5s)->at("executors")[0];
  BOOST_TEST(listed["name"] == "db1");
  BOOST_TEST(listed["caps"] == nlohmann::json::array({"echo"}));
  BOOST_TEST(listed["labels"]["site"] == "db1");
  BOOST_TEST(admin->call("run", {{"action", "echo"}, {"args", {{"k", 1}}}}, 5s).ok());
  BOOST_TEST(admin->call("run", {{"action", "sleep"}, {"args", {{"ms", 1}}}}, 5s).err().code == "not_found");

  // An executor key cannot act as an admin.
  auto exec_keys = keys_of("db1.key");
  auto sneaky = client::connect(node.endpoint, &exec_keys).value();
  auto denied = sneaky->call("approve", {{"id", "x"}}, 5s);
  BOOST_TEST(denied.err().code == "forbidden");
  BOOST_TEST(denied.err().message.find("is an executor key") != std::string::npos);

  // Revoke: the live connection is cut off, and new connections are refused.
  BOOST_REQUIRE(admin->call("executors.revoke", {{"name", "db1"}}, 5s).ok());
  BOOST_TEST(admin->call("executors", nlohmann::json::object(), 5s)->at("executors").empty());
  BOOST_TEST(!admin->call("run", {{"action", "echo"}}, 5s).ok());
  auto again = client::connect(node.endpoint, &exec_keys).value();
  BOOST_TEST(!again->call("ping", nlohmann::json::object(), 1s).ok());
  BOOST_TEST(node.proc->log_contains("refused a CURVE client"));
  BOOST_TEST(!node.proc->log_contains(read_key_file(dir / "db1.key")->secret_key));  // no secret in the log
}

// An executor whose key the node refuses says so with what to run, backs
// off between tries, and stops after five refusals in a row (exit 3)
// instead of retrying every second for ever.
BOOST_AUTO_TEST_CASE(a_refused_executor_backs_off_and_stops_with_a_clear_message) {
  temp_dir dir("keel-auth-refused");
  auto node_pub = keygen(dir / "node.key");
  auto admin_pub = keygen(dir / "admin.key");
  auto exec_pub = keygen(dir / "x.key");
  auto node = start_node({dir / "data", dir / "node.log", {"--key", dir / "node.key", "--admin-key", admin_pub}, ""});
  std::ofstream(dir / "executor.yaml") << "executor:\n  reconnect: {min: 100ms, max: 400ms}\n";
  auto exec = start_executor(node.endpoint, "x", dir / "x.log",
                             {"--config", dir / "executor.yaml", "--server-key", node_pub, "--key", dir / "x.key"});
  int code = exec->wait_exit(20s);
  BOOST_TEST(code == 3, exec->log());
  auto log = exec->log();
  BOOST_TEST(log.find("refused this executor's CURVE key " + exec_pub) != std::string::npos, log);
  BOOST_TEST(log.find("keelctl executors authorize " + exec_pub + " --name NAME") != std::string::npos, log);
  BOOST_TEST(log.find("trying again in 100ms (1 of 5)") != std::string::npos, log);
  BOOST_TEST(log.find("trying again in 400ms (4 of 5)") != std::string::npos, log);
  BOOST_TEST(log.find("refused 5 time(s) in a row, stopping") != std::string::npos, log);
  BOOST_TEST(node.proc->running());
}

BOOST_AUTO_TEST_CASE(a_node_started_without_keys_makes_its_own_and_keelctl_finds_them) {
  temp_dir dir("keel-auth2");
  auto endpoint = endpoint_for(free_port());
  auto start = [&](const std::string& log) {
    auto p = std::make_unique<process>(std::vector<std::string>{KEEL_BIN, "node", "--listen", endpoint, "--data-dir", dir / "data"},
                                       dir / log);
    BOOST_REQUIRE(wait_until([&] { return p->log_contains("keel node ready") || !p->running(); }, 15s));
    BOOST_REQUIRE_MESSAGE(p->running(), p->log());
    return p;
  };
  auto node = start("node.log");
  BOOST_TEST(!node->log_contains("curve=off"), node->log());
  struct stat st{};
  BOOST_REQUIRE(::stat((dir / "data/keys").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0700u);
  for (const char* f : {"node.key", "admin.key"}) {
    BOOST_REQUIRE(::stat((dir / (std::string("data/keys/") + f)).c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u, f);
  }

  // Nothing unauthenticated gets in, not even from loopback.
  auto plain = client::connect(endpoint).value();
  BOOST_TEST(!plain->call("ping", nlohmann::json::object(), 1s).ok());
  auto stranger = run_command({KEELCTL_BIN, "--endpoint", endpoint, "--data-dir", dir / "nowhere", "ping"}, 10s);
  BOOST_TEST(stranger.code != 0);
  BOOST_TEST(stranger.err.find("no node keys in") != std::string::npos, stranger.err);

  // keelctl on the node's machine: by data dir, or by the env file.
  auto by_dir = run_command({KEELCTL_BIN, "--endpoint", endpoint, "--data-dir", dir / "data", "ping"}, 10s);
  BOOST_TEST(by_dir.code == 0, by_dir.err);
  auto by_env = run_command({"/bin/sh", "-c", ". '" + (dir / "data/keys/keelctl.env") + "' && '" + KEELCTL_BIN + "' ping"}, 10s);
  BOOST_TEST(by_env.code == 0, by_env.err);

  // A restart keeps the keys, so keelctl settings stay valid.
  std::ifstream pub_in(dir / "data/node.pub");
  std::string pub;
  std::getline(pub_in, pub);
  BOOST_TEST(pub.size() == 40u);
  BOOST_TEST(node->terminate() == 0);
  node = start("node2.log");
  std::ifstream pub_again_in(dir / "data/node.pub");
  std::string pub_again;
  std::getline(pub_again_in, pub_again);
  BOOST_TEST(pub_again == pub);
  BOOST_TEST(run_command({KEELCTL_BIN, "--endpoint", endpoint, "--data-dir", dir / "data", "ping"}, 10s).code == 0);
  BOOST_TEST(!node->log_contains(read_key_file(dir / "data/keys/node.key")->secret_key));
  BOOST_TEST(!node->log_contains(read_key_file(dir / "data/keys/admin.key")->secret_key));
}

// keelctl told apart "the node refused this key" (it answers the handshake
// with an error, and ZeroMQ reports it to the client's socket monitor) from
// "nothing answers", and says which, at once.
BOOST_AUTO_TEST_CASE(a_refused_key_is_told_so_at_once_not_that_the_node_is_down) {
  temp_dir dir("keel-auth3");
  auto node_pub = keygen(dir / "node.key");
  auto admin_pub = keygen(dir / "admin.key");
  auto stranger_pub = keygen(dir / "stranger.key");
  auto elsewhere_pub = keygen(dir / "elsewhere.key");  // the public key of some other node
  auto node = start_node({dir / "data", dir / "node.log", {"--key", dir / "node.key", "--admin-key", admin_pub}, ""});
  auto as = [&](const std::string& server_key, const std::string& key_file, std::vector<std::string> cmd) {
    std::vector<std::string> argv{KEELCTL_BIN, "--endpoint", node.endpoint, "--timeout", "10s", "--server-key", server_key,
                                  "--key", dir / key_file};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return run_command(argv, 30s);
  };

  // A key the node does not know: refused at the handshake, and said so.
  auto stranger = as(node_pub, "stranger.key", {"status"});
  BOOST_TEST(stranger.code == 1);
  BOOST_TEST((stranger.elapsed < 3s), stranger.elapsed.count() << " ms");
  BOOST_TEST(stranger.err.find("the node at " + node.endpoint + " refused this client's CURVE key " + stranger_pub) !=
                 std::string::npos, stranger.err);
  BOOST_TEST(stranger.err.find("keelctl executors authorize " + stranger_pub + " --name NAME --role admin") != std::string::npos,
             stranger.err);
  BOOST_TEST(stranger.err.find("source DIR/keys/keelctl.env") != std::string::npos, stranger.err);
  BOOST_TEST(stranger.err.find("is it running") == std::string::npos, stranger.err);
  BOOST_TEST(stranger.err.find(read_key_file(dir / "stranger.key")->secret_key) == std::string::npos);  // only the public half
  BOOST_TEST(node.proc->log_contains("refused a CURVE client: unknown key"));
  auto stranger_json = as(node_pub, "stranger.key", {"--json", "ping"});
  BOOST_TEST(stranger_json.code == 1);
  BOOST_TEST(nlohmann::json::parse(stranger_json.out)["error"]["code"] == "forbidden", stranger_json.out);

  // Doing what the message says lets it in.
  auto authorized = as(node_pub, "admin.key", {"executors", "authorize", stranger_pub, "--name", "ops", "--role", "admin"});
  BOOST_REQUIRE_MESSAGE(authorized.code == 0, authorized.err);
  auto again = as(node_pub, "stranger.key", {"ping"});
  BOOST_TEST(again.code == 0, again.err);

  // One key in 85 begins with '-'; the same command line takes it, before or after the options.
  const std::string dashed = "-Xy0aBcD1eFgH2iJkL3mNoP4qRsT5uVwX6yZa7bc", dashed2 = "--y0aBcD1eFgH2iJkL3mNoP4qRsT5uVwX6yZa7bc";
  for (auto cmd : {std::vector<std::string>{"executors", "authorize", dashed, "--name", "dash1"},
                   std::vector<std::string>{"executors", "authorize", "--name", "dash2", dashed2}}) {
    auto r = as(node_pub, "admin.key", cmd);
    BOOST_TEST(r.code == 0, r.err);
  }
  auto keys = as(node_pub, "admin.key", {"--json", "executors", "keys"});
  for (const auto& k : {dashed, dashed2})
    BOOST_TEST(keys.out.find("\"public_key\": \"" + k + "\"") != std::string::npos, keys.out);
  auto keyless = as(node_pub, "admin.key", {"executors", "authorize", "--name", "nokey"});
  BOOST_TEST(keyless.code == 2);
  BOOST_TEST(keyless.err.find("which key?") != std::string::npos, keyless.err);

  // The wrong server key: ZeroMQ reports no reason, only that the node hung
  // up during each handshake (EPIPE); three in a row say enough.
  auto wrong_server = as(elsewhere_pub, "admin.key", {"status"});
  BOOST_TEST(wrong_server.code == 1);
  BOOST_TEST((wrong_server.elapsed < 4s), wrong_server.elapsed.count() << " ms");
  BOOST_TEST(wrong_server.err.find("hung up during the CURVE handshake 3 times in a row") != std::string::npos, wrong_server.err);
  BOOST_TEST(wrong_server.err.find(elsewhere_pub + ") is not that node's public key") != std::string::npos, wrong_server.err);

  // A client without keys: the node wants CURVE.
  auto plain = client::connect(node.endpoint).value();
  auto t0 = std::chrono::steady_clock::now();
  auto plain_call = plain->call("ping", nlohmann::json::object(), 10s);
  BOOST_TEST(!plain_call.ok());
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 3s));
  BOOST_TEST(plain_call.err().code == "forbidden");
  BOOST_TEST((plain_call.err().message.find("requires CURVE keys") != std::string::npos ||
              plain_call.err().message.find("probably requires CURVE keys") != std::string::npos),
             plain_call.err().message);

  // Nothing listening is still "no answer" (exit 3), after the whole timeout.
  auto dead = run_command({KEELCTL_BIN, "--endpoint", endpoint_for(free_port()), "--timeout", "1s", "--server-key", node_pub,
                           "--key", dir / "admin.key", "ping"}, 30s);
  BOOST_TEST(dead.code == 3);
  BOOST_TEST(dead.err.find("no answer from the node") != std::string::npos, dead.err);
}

BOOST_AUTO_TEST_CASE(a_key_offered_to_a_node_without_curve_is_told_so) {
  temp_dir dir("keel-auth4");
  auto node_pub = keygen(dir / "node.key");
  keygen(dir / "admin.key");
  auto node = start_node({dir / "data", dir / "node.log", {"--insecure"}, ""});
  auto r = run_command({KEELCTL_BIN, "--endpoint", node.endpoint, "--timeout", "10s", "--server-key", node_pub, "--key",
                        dir / "admin.key", "ping"}, 30s);
  BOOST_TEST(r.code == 1);
  BOOST_TEST((r.elapsed < 4s), r.elapsed.count() << " ms");
  // Which of the two ZeroMQ reports is a race: the node's greeting (the
  // mechanism mismatch) or its hang-up (EPIPE). Either way keelctl names
  // --insecure and what to leave out.
  BOOST_TEST((r.err.find("does not use CURVE (it was started with --insecure) but this client offered a key") != std::string::npos ||
              r.err.find("or the node runs without CURVE (--insecure: then leave out --key, --server-key and --data-dir)") !=
                  std::string::npos),
             r.err);
}

BOOST_AUTO_TEST_CASE(a_decision_is_audited_under_the_key_that_made_it_not_a_typed_name) {
  temp_dir dir("keel-authdecide");
  auto node_pub = keygen(dir / "node.key");
  auto admin_pub = keygen(dir / "admin.key");
  write_file(dir / "flows/pay.yaml", "name: pay\nsteps:\n  - {id: pay, action: echo, args: {n: 1}, gate: {when: \"true\"}}\n");
  write_file(dir / "node.yaml", "workflows:\n  dir: flows\n");
  auto node = start_node({dir / "data", dir / "node.log", {"--key", dir / "node.key", "--admin-key", admin_pub},
                          dir / "node.yaml"});
  curve_client_keys keys{node_pub, read_key_file(dir / "admin.key").value()};
  auto admin = client::connect(node.endpoint, &keys).value();
  auto started = admin->call("run-workflow", {{"workflow", "pay"}, {"input", nlohmann::json::object()}, {"by", "mallory"}}, 5s);
  BOOST_REQUIRE_MESSAGE(started.ok(), (started.ok() ? std::string() : started.err().message));
  auto id = started->value("instance", std::string());
  BOOST_REQUIRE(wait_until([&] {
    auto a = admin->call("approvals", nlohmann::json::object(), 5s);
    return a.ok() && a->dump().find(id + "/pay") != std::string::npos;
  }, 10s));
  auto decided = admin->call("approve", {{"id", id + "/pay"}, {"by", "the-ceo"}, {"comment", "ok"}}, 5s);
  BOOST_REQUIRE_MESSAGE(decided.ok(), (decided.ok() ? std::string() : decided.err().message));
  auto tail = admin->call("audit.tail", {{"n", 50}}, 5s);
  BOOST_REQUIRE(tail.ok());
  nlohmann::json approval;
  for (const auto& e : tail->at("entries"))
    if (e["kind"] == "approval" && e["subject"] == id + "/pay") approval = e;
  BOOST_REQUIRE_MESSAGE(approval.is_object(), tail->dump());
  BOOST_TEST(approval["actor"].get<std::string>().rfind("admin-", 0) == 0, approval.dump());  // the key's name
  BOOST_TEST(approval["detail"]["claimed_by"] == "the-ceo");
  BOOST_TEST(approval["detail"]["via"] == approval["actor"]);
}

BOOST_AUTO_TEST_SUITE_END()
