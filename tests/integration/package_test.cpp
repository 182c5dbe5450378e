// The Debian package, built and used as a user would: cpack makes it from
// this build; it holds the FHS layout and passes lintian; its systemd
// units pass `systemd-analyze verify`; unpacked into a scratch root, its
// own binaries start a node on its own installed config (with CURVE, as
// the service runs it), an executor attaches, and a workflow runs.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"

using namespace keel;
using namespace keel::test;
namespace fs = std::filesystem;

namespace {

std::string only_deb(const std::string& dir) {
  std::string found;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".deb") found = e.path().string();
  BOOST_REQUIRE_MESSAGE(!found.empty(), "cpack made no .deb in " << dir);
  return found;
}

// run_command execs a path: the tools are found on PATH here.
std::vector<std::string> on_path(std::vector<std::string> argv) {
  if (argv[0].find('/') != std::string::npos) return argv;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    auto end = dirs.find(':', start);
    auto candidate = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start) + "/" + argv[0];
    if (::access(candidate.c_str(), X_OK) == 0) {
      argv[0] = candidate;
      return argv;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  BOOST_FAIL(argv[0] << " is not installed: tools/setup.sh --with-test-tools installs it");
  return argv;
}

command_result must(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 120s) {
  auto r = run_command(on_path(argv), timeout);
  BOOST_REQUIRE_MESSAGE(r.code == 0, argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << " failed (" << r.code << "):\n"
                                             << r.out << r.err);
  return r;
}

// A root systemd-analyze can resolve the units in: the package, the
// system's own units (targets the package's units name) and /bin/kill.
void add_system_units(const std::string& root) {
  fs::copy("/lib/systemd/system", root + "/lib/systemd/system",
           fs::copy_options::recursive | fs::copy_options::skip_existing | fs::copy_options::copy_symlinks);
  fs::create_directories(root + "/bin");
  fs::copy_file("/bin/kill", root + "/bin/kill");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(package_test)

BOOST_AUTO_TEST_CASE(the_package_installs_starts_and_runs_a_workflow) {
  temp_dir dir("keel-package");
  must({"cpack", "-G", "DEB", "-B", dir / "pkg", "--config", std::string(KEEL_BUILD_DIR) + "/CPackConfig.cmake"}, 300s);
  auto deb = only_deb(dir / "pkg");

  auto contents = must({"dpkg-deb", "-c", deb}).out;
  for (const char* path : {"./usr/bin/keel", "./usr/bin/keelctl", "./etc/keel/node.yaml", "./etc/keel/workflows/",
                           "./lib/systemd/system/keel-node.service", "./lib/systemd/system/keel-executor@.service",
                           "./usr/share/man/man1/keel.1.gz", "./usr/share/doc/keel/copyright"})
    BOOST_TEST(has(contents, path), path << " is not in the package:\n" << contents);
  BOOST_TEST(has(must({"dpkg-deb", "-f", deb, "Depends"}).out, "libcaf-core0.17"));
  BOOST_TEST(has(must({"dpkg-deb", "-I", deb, "conffiles"}).out, "/etc/keel/node.yaml"));
  auto lint = run_command(on_path({"lintian", "--fail-on", "error,warning", deb}), 300s);
  BOOST_TEST(lint.code == 0, "lintian:\n" << lint.out << lint.err);

  auto root = dir / "root";
  must({"dpkg-deb", "-x", deb, root});
  BOOST_TEST(has(read_all(root + "/etc/keel/node.yaml"), "data_dir: /var/lib/keel"));
  add_system_units(root);
  // --man=no: the manual pages are in the package, not on this machine.
  for (const char* unit : {"keel-node.service", "keel-executor@db1.service"}) {
    auto v = run_command(on_path({"systemd-analyze", "verify", "--man=no", "--root=" + root,
                                  root + "/lib/systemd/system/" + std::string(unit)}), 60s);
    BOOST_TEST(v.code == 0, unit << ": " << v.out << v.err);
  }

  // The installed binaries on the installed config; only the state dir
  // and the address differ from what the service runs.
  const std::string keel = root + "/usr/bin/keel", keelctl = root + "/usr/bin/keelctl", state = dir / "state";
  write_file(root + "/etc/keel/workflows/hello.yaml", "name: hello\nsteps:\n  - {id: say, action: echo, args: {hi: installed}}\n");
  int port = free_port();
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);
  process node({keel, "node", "--config", root + "/etc/keel/node.yaml", "--data-dir", state, "--listen", endpoint},
               dir / "node.log");
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return node.log_contains("keel node ready") || !node.running(); }, 20s) && node.running(),
                        node.log());
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {keelctl, "--endpoint", endpoint, "--data-dir", state});
    return run_command(args, 60s);
  };
  auto wf = ctl({"workflows"});
  BOOST_TEST(has(wf.out, "hello"), wf.out << wf.err);
  auto pub = must({keel, "keygen", "--out", dir / "x1.key"}).out;
  pub.erase(pub.find_last_not_of(" \n") + 1);
  pub = pub.substr(pub.find_last_of(' ') + 1);
  auto auth = ctl({"executors", "authorize", pub, "--name", "x1", "--caps", "echo"});
  BOOST_REQUIRE_MESSAGE(auth.code == 0, auth.out << auth.err);
  std::string server_key = read_lines(state + "/node.pub").at(0);
  process exec({keel, "executor", "--connect", endpoint, "--server-key", server_key, "--key", dir / "x1.key", "--name", "x1",
                "--caps", "echo"},
               dir / "x1.log");
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return has(ctl({"executors"}).out, "x1"); }, 20s), exec.log());
  auto run = ctl({"run-workflow", "hello", "--wait"});
  BOOST_TEST(run.code == 0, run.out << run.err);
  BOOST_TEST(has(run.out, "completed"), run.out);
}

BOOST_AUTO_TEST_SUITE_END()
