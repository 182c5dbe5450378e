// tests/support/openai_test_server.py as a real process on 127.0.0.1: the
// only model double, for the model router's unit tests and for nodes in the
// integration tests (it speaks the OpenAI chat-completions protocol). Its
// port file and log go into the directory it is given; the script, the
// default answer and the log of requests are driven over its control
// endpoints (see the server's docstring).
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace keel::test {

struct openai_server {
  std::unique_ptr<process> proc;
  int port = 0;

  explicit openai_server(const std::string& dir) {
    auto port_file = dir + "/openai.port";
    proc = std::make_unique<process>(std::vector<std::string>{"/usr/bin/python3",
                                                              KEEL_SOURCE_DIR "/tests/support/openai_test_server.py",
                                                              "--port-file", port_file},
                                     dir + "/openai.log");
    // Not just there: written, or the port read below is 0.
    BOOST_REQUIRE_MESSAGE(wait_until([&] { return std::filesystem::exists(port_file) &&
                                                  std::filesystem::file_size(port_file) > 0; }, 10s),
                          "the test server did not start: " + proc->log());
    std::ifstream(port_file) >> port;
  }

  // One control request (GET for /_requests, else POST with `body`); its JSON answer.
  nlohmann::json call(const std::string& path, const nlohmann::json& body = nlohmann::json::object()) {
    httplib::Client c("127.0.0.1", port);
    auto r = path == "/_requests" ? c.Get(path.c_str()) : c.Post(path.c_str(), body.dump(), "application/json");
    BOOST_REQUIRE_MESSAGE(r, "no answer from the test server to " << path);
    return nlohmann::json::parse(r->body);
  }
  // Appends these responses (objects as the server's docstring describes)
  // to the script. Plain texts go through script_contents: a list of
  // strings would also make a JSON array, which the server cannot answer with.
  void script(const nlohmann::json& responses) {
    for (const auto& r : responses)
      BOOST_REQUIRE_MESSAGE(r.is_object(), "a scripted response is an object, not " << r.dump());
    call("/_script", {{"responses", responses}});
  }
  // Appends one plain completion per text, in order.
  void script_contents(const std::vector<std::string>& contents) {
    nlohmann::json rs = nlohmann::json::array();
    for (const auto& c : contents) rs.push_back({{"content", c}});
    script(rs);
  }
  // The response (or rule) used once the script is empty.
  void fallback_default(const nlohmann::json& response) { call("/_default", response); }
  // Every completion request so far, oldest first.
  nlohmann::json requests() { return call("/_requests")["requests"]; }
};

}  // namespace keel::test
