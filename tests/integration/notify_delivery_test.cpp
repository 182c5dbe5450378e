// Alerts and inbox items reach the operator: a node with `notify:` sends
// them to a real SMTP sink (Debian's aiosmtpd) and a local webhook
// receiver. An executor that dies is one alert and, when it comes back,
// one resolution; a gate that opens is one inbox item; a webhook that
// fails first is retried, and each delivery is an effect in the audit.
#include <filesystem>

#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"

using namespace keel;
using namespace keel::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> files_in(const std::string& dir, const std::string& ext) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ext) out.push_back(read_all(e.path().string()));
  return out;
}

// How many of `texts` contain `needle`.
std::size_t count_with(const std::vector<std::string>& texts, const std::string& needle) {
  return static_cast<std::size_t>(std::count_if(texts.begin(), texts.end(), [&](const auto& t) { return has(t, needle); }));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(notify_delivery_test)

BOOST_AUTO_TEST_CASE(alerts_and_inbox_items_reach_mail_and_webhook_once) {
  temp_dir dir("keel-notify");
  int smtp_port = free_port(), hook_port = free_port();
  process sink({"/usr/bin/python3", KEEL_SOURCE_DIR "/tests/adapters/smtp_sink.py", "--port", std::to_string(smtp_port),
                "--out", dir / "mail"},
               dir / "sink.log");
  process hook({"/usr/bin/python3", KEEL_SOURCE_DIR "/tests/adapters/webhook_receiver.py", "--port", std::to_string(hook_port),
                "--out", dir / "hooks", "--fail-first", "1"},
               dir / "hook.log");
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return fs::exists(dir / "mail/ready") && fs::exists(dir / "hooks/ready"); }, 15s),
                        sink.log() << hook.log());
  write_file(dir / "workflows/pay.yaml", "name: pay\nsteps:\n  - {id: charge, action: noop, gate: true}\n");
  test_node w(dir, {.workflows = true});
  w.start("metrics: {port: 0}\ngateway: {heartbeat: 100ms, heartbeat_misses: 2}\nmonitor: {interval: 200ms}\n"
          "notify:\n  email:\n    to: [owner@example.com]\n    from: keel@example.com\n    smtp: {host: 127.0.0.1, port: " +
          std::to_string(smtp_port) + "}\n  webhook: {url: \"http://127.0.0.1:" + std::to_string(hook_port) + "/hook\"}\n");

  // An executor that dies, and comes back.
  w.add_executors(1);
  BOOST_REQUIRE(w.wait_for_executors(1, 10s));
  w.executors[0]->kill9();
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return count_with(files_in(dir / "mail", ".eml"), "executor_lost") >= 1; }, 20s),
                        w.log());
  w.replace_executor(0, "x1");
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return count_with(files_in(dir / "mail", ".eml"), "resolved: executor x1") >= 1; }, 20s),
                        w.log());
  // A gate that opens.
  std::string id = w.require("run-workflow", {{"workflow", "pay"}})["instance"];
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return count_with(files_in(dir / "mail", ".eml"), "waiting for you") >= 1; }, 20s),
                        w.log());
  // And the webhook got the same three, after its first answer failed.
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return count_with(files_in(dir / "hooks", ".json"), "waiting for you") >= 1; }, 30s),
                        w.log());

  auto mails = files_in(dir / "mail", ".eml");
  BOOST_TEST(count_with(mails, "Subject: [keel] alert (critical): executor x1") == 1u);
  BOOST_TEST(count_with(mails, "Subject: [keel] resolved: executor x1") == 1u);
  BOOST_TEST(count_with(mails, "Subject: [keel] waiting for you: approval of step charge of pay (" + id + ")") == 1u);
  BOOST_TEST(count_with(mails, "keelctl approve " + id + "/charge") == 1u);
  auto hooks = files_in(dir / "hooks", ".json");
  BOOST_TEST(count_with(hooks, "\"text\"") == hooks.size());
  BOOST_TEST(count_with(hooks, "alert (critical): executor x1") == 1u);
  BOOST_TEST(count_with(hooks, "resolved: executor x1") == 1u);
  BOOST_TEST(w.proc().log_contains("notify: webhook failed"));
  auto audit = w.ctl_json({"audit", "tail", "--kind", "effect", "-n", "100"}).dump();
  BOOST_TEST(has(audit, "notify.email"), audit);
  BOOST_TEST(has(audit, "notify.webhook"), audit);
}

BOOST_AUTO_TEST_CASE(a_bad_notify_section_stops_the_start_with_its_line) {
  temp_dir dir("keel-notify-bad");
  auto r = refused_start(dir, "notify:\n  webhook: {url: \"ftp://example.com\"}\n");
  BOOST_TEST(has(r.err, dir / "node.yaml:2"), r.err);
  BOOST_TEST(has(r.err, "is http(s)://... or a vault reference"), r.err);
}

BOOST_AUTO_TEST_SUITE_END()
