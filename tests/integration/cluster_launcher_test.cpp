// `keel cluster up` / `down`: runs with CURVE keys of its own, returns once executors are registered, restarts
// an executor that dies, and `down` leaves no process behind, even after the
// keeper itself was killed with SIGKILL.
#include "tests/integration/node_fixture.hpp"

#include <sys/stat.h>

#include "runtime/fabric/curve_keys.hpp"

#include <signal.h>

#include <filesystem>
#include <fstream>

using namespace keel;
using namespace keel::test;

namespace {
nlohmann::json state(const temp_dir& dir) {
  std::ifstream in(dir / "data/cluster.json");
  return in ? nlohmann::json::parse(in) : nlohmann::json();
}
std::vector<pid_t> pids(const nlohmann::json& st) {
  std::vector<pid_t> out{st.value("keeper_pid", 0)};
  for (const auto& c : st["children"]) out.push_back(c.value("pid", 0));
  return out;
}
// Gone: no such process, or a zombie waiting for its (re-)parent to reap it.
bool gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_s, comm, state;
  stat >> pid_s >> comm >> state;
  return state == "Z";
}
// Runs `keel cluster down` when the test ends, however it ends: a failed
// `up` (or a failed check before `down`) would otherwise leave the node and
// executors running, re-parented to init, for the rest of the machine's life.
struct down_on_exit {
  std::string data_dir;
  ~down_on_exit() {
    try {
      run_command({KEEL_BIN, "cluster", "down", "--data-dir", data_dir}, 60s);
    } catch (...) {  // a destructor must not throw; the test has already reported
    }
  }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(cluster_launcher_test)

BOOST_AUTO_TEST_CASE(up_restart_down_leaves_nothing_behind) {
  temp_dir dir;
  down_on_exit cleanup{dir / "data"};
  auto ep = endpoint_for(free_port());
  auto up = run_command({KEEL_BIN, "cluster", "up", "--executors", "2", "--listen", ep, "--data-dir", dir / "data"}, 60s);
  BOOST_REQUIRE_MESSAGE(up.code == 0, up.err + up.out);
  BOOST_TEST(up.out.find("2 executor(s) registered") != std::string::npos);

  // Only the cluster's own keys get in: a client without keys gets nothing.
  auto stranger = client::connect(ep).value();
  BOOST_TEST(!stranger->call("status", nlohmann::json::object(), 1500ms).ok());
  // Once its handshake has been refused, a second call must still end (a
  // DEALER with no connection used to block in send forever).
  auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(!stranger->call("status", nlohmann::json::object(), 1500ms).ok());
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 10s));
  struct stat keys_dir{};
  BOOST_REQUIRE(::stat((dir / "data/keys").c_str(), &keys_dir) == 0);
  BOOST_TEST((keys_dir.st_mode & 0777) == 0700u);
  auto node_keys = read_key_file(dir / "data/keys/node.key");
  auto admin_keys = read_key_file(dir / "data/keys/admin.key");
  BOOST_REQUIRE(node_keys.ok() && admin_keys.ok());  // read_key_file refuses files others can read
  curve_client_keys admin{node_keys->public_key, *admin_keys};
  auto cli = client::connect(ep, &admin).value();
  BOOST_TEST(cli->call("executors", nlohmann::json::object(), 5s)->at("executors").size() == 2u);
  // keelctl with the settings `up` wrote for it.
  std::ifstream env_file(dir / "data/keys/keelctl.env");
  std::string env_text((std::istreambuf_iterator<char>(env_file)), std::istreambuf_iterator<char>());
  BOOST_TEST(env_text.find("KEEL_SERVER_KEY='" + node_keys->public_key + "'") != std::string::npos, env_text);
  auto ctl = keelctl(ep, {"executors"}, {"KEEL_KEY=" + dir / "data/keys/admin.key", "KEEL_SERVER_KEY=" + node_keys->public_key});
  BOOST_TEST(ctl.code == 0, ctl.err);
  BOOST_TEST(ctl.out.find("local-2") != std::string::npos, ctl.out);

  // The keeper restarts an executor that dies.
  auto st = state(dir);
  pid_t exec_pid = st["children"][1]["pid"];
  ::kill(exec_pid, SIGKILL);
  BOOST_REQUIRE(wait_until([&] {
    auto s = state(dir);
    return s.is_object() && s["children"][1]["pid"] != exec_pid && s["children"][1]["pid"] != 0;
  }, 10s));
  BOOST_TEST(wait_until([&] {
    auto r = cli->call("executors", nlohmann::json::object(), 2s);
    if (!r.ok()) return false;
    for (const auto& e : r->at("executors"))
      if (e["pid"] == exec_pid) return false;  // the dead one must be gone, the new one there
    return r->at("executors").size() == 2u;
  }, 15s));

  // A second `up` on the same dir is refused.
  auto again = run_command({KEEL_BIN, "cluster", "up", "--listen", ep, "--data-dir", dir / "data"}, 30s);
  BOOST_TEST(again.code == 1);
  BOOST_TEST(again.err.find("a cluster is already running") != std::string::npos);

  auto all = pids(state(dir));
  auto down = run_command({KEEL_BIN, "cluster", "down", "--data-dir", dir / "data"}, 60s);
  BOOST_TEST(down.code == 0, down.err);
  for (auto pid : all) BOOST_TEST(gone(pid), "pid " << pid << " still running");
  BOOST_TEST(!std::filesystem::exists(dir / "data/cluster.json"));
}

BOOST_AUTO_TEST_CASE(down_works_after_the_keeper_was_killed) {
  temp_dir dir;
  down_on_exit cleanup{dir / "data"};
  auto ep = endpoint_for(free_port());
  auto up = run_command({KEEL_BIN, "cluster", "up", "--executors", "1", "--listen", ep, "--data-dir", dir / "data"}, 60s);
  BOOST_REQUIRE_MESSAGE(up.code == 0, up.err + up.out);
  auto all = pids(state(dir));
  ::kill(all[0], SIGKILL);  // the keeper
  BOOST_REQUIRE(wait_until([&] { return gone(all[0]); }, 5s));
  for (std::size_t i = 1; i < all.size(); ++i) BOOST_TEST(!gone(all[i]));  // orphans still run
  auto down = run_command({KEEL_BIN, "cluster", "down", "--data-dir", dir / "data"}, 60s);
  BOOST_TEST(down.code == 0, down.err);
  for (auto pid : all) BOOST_TEST(wait_until([&] { return gone(pid); }, 5s), "pid " << pid << " left behind");
}

BOOST_AUTO_TEST_SUITE_END()
