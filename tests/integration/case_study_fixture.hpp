// The case study's processes (config/demo/): the founder's app
// (keel-demo-app), an SMTP sink (tests/adapters/smtp_sink.py on Debian's
// aiosmtpd), and a test_node configured by config/demo/make_config.sh with
// executors that have http.request and email.send, with what tests read
// from each.
#pragma once

#include <boost/test/unit_test.hpp>

#include <httplib.h>

#include <strings.h>

#include <fstream>
#include <set>
#include <sstream>

#include "adapters/connectors/webhook_signature.hpp"
#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"

namespace keel::test {

// Header `name` of an RFC 5322 message (first occurrence, unfolded), or "".
inline std::string header(const std::string& message, const std::string& name) {
  std::istringstream in(message);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line == "\r") break;
    if (line.size() > name.size() && strncasecmp(line.c_str(), name.c_str(), name.size()) == 0 && line[name.size()] == ':') {
      auto v = line.substr(name.size() + 1);
      v.erase(0, v.find_first_not_of(' '));
      if (!v.empty() && v.back() == '\r') v.pop_back();
      return v;
    }
  }
  return {};
}

struct sent_mail {
  std::string to, subject, message_id, in_reply_to;
};

struct case_study {
  temp_dir dir{"keel-case"};
  int http_port = free_port(), app_port = free_port(), smtp_port = free_port();
  std::string cfg = dir / "cfg";
  std::unique_ptr<process> app, sink;
  test_node node{dir};

  case_study() {
    auto made = run_command({KEEL_SOURCE_DIR "/config/demo/make_config.sh", cfg, std::to_string(http_port),
                             std::to_string(app_port), std::to_string(smtp_port)});
    BOOST_REQUIRE_MESSAGE(made.code == 0, made.err);
    auto app_bin = (std::filesystem::path(KEEL_BIN).parent_path() / "keel-demo-app").string();
    app = std::make_unique<process>(std::vector<std::string>{app_bin, "--port", std::to_string(app_port)}, dir / "app.log");
    BOOST_REQUIRE_MESSAGE(wait_until([&] { return app->log_contains("ready"); }, 10s), app->log());
    sink = std::make_unique<process>(std::vector<std::string>{"/usr/bin/python3", KEEL_SOURCE_DIR "/tests/adapters/smtp_sink.py",
                                                              "--port", std::to_string(smtp_port), "--out", dir / "mail"},
                                     dir / "sink.log");
    BOOST_REQUIRE_MESSAGE(wait_until([&] { return std::filesystem::exists(dir / "mail/ready"); }, 15s), sink->log());
  }

  // First start without the connectors, to put the webhook secret in the
  // vault (the connectors need it), then the demo's full config.
  void start_with_webhook_secret() {
    node.start(read_all(cfg + "/node-base.yaml"));
    std::ofstream(dir / "whsec.txt") << "whsec_demo_secret";
    auto set = keelctl_with_stdin(node.endpoint, {"secrets", "set", "billing_whsec"}, dir / "whsec.txt");
    BOOST_REQUIRE_MESSAGE(set.code == 0, set.out + set.err);
    node.restart(read_all(cfg + "/node.yaml"));
  }
  void add_executor(const std::string& name) { node.add_executor(name, {"--config", cfg + "/executor.yaml"}); }
  nlohmann::json instances() {
    auto r = node.ctl({"--json", "tasks", "--limit", "100"});
    return r.code == 0 ? nlohmann::json::parse(r.out)["instances"] : nlohmann::json::array();
  }
  int count(const std::string& workflow, const std::string& state) {
    int n = 0;
    for (const auto& i : instances()) n += i["workflow"] == workflow && (state.empty() || i["state"] == state);
    return n;
  }
  nlohmann::json app_state() {
    httplib::Client c("127.0.0.1", app_port);
    auto r = c.Get("/state");
    BOOST_REQUIRE(r);
    return nlohmann::json::parse(r->body);
  }
  std::vector<sent_mail> mail() {
    std::vector<sent_mail> out;
    for (const auto& e : std::filesystem::directory_iterator(dir / "mail")) {
      if (e.path().extension() != ".json") continue;  // written after its .eml: the message is complete
      auto eml = e.path();
      auto text = read_all(eml.replace_extension(".eml").string());
      out.push_back({header(text, "To"), header(text, "Subject"), header(text, "Message-ID"), header(text, "In-Reply-To")});
    }
    return out;
  }
  std::set<std::string> distinct_ids() {
    std::set<std::string> ids;
    for (const auto& m : mail()) ids.insert(m.message_id);
    return ids;
  }
  // One billing webhook, signed as the demo's sender signs it.
  httplib::Result post_hook(const std::string& body, const std::string& secret = "whsec_demo_secret") {
    httplib::Client c("127.0.0.1", http_port);
    httplib::Headers h{{"Stripe-Signature", connectors::stripe_signature_header(secret, std::time(nullptr), body)}};
    return c.Post("/hooks/stripe", h, body, "application/json");
  }
  // `later_s`: signed as of that many seconds from now, as a sender's retry
  // is signed anew (the same signature again is a replay, refused 409).
  command_result send_webhooks(int later_s = 0) {
    return run_command({KEEL_SOURCE_DIR "/config/demo/send_webhooks.sh",
                        "http://127.0.0.1:" + std::to_string(http_port) + "/hooks/stripe", "whsec_demo_secret",
                        std::to_string(later_s)},
                       60s);
  }
};

}  // namespace keel::test
