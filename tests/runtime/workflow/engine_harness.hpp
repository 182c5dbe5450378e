// The workflow engine driven by hand against a real LevelDB directory:
// results are fed back as an executor would, so every event can be checked
// in order. Shared by the engine's test suites.
#pragma once

#include <boost/test/unit_test.hpp>

#include <map>
#include <memory>
#include <vector>

#include "runtime/base/duration.hpp"
#include "runtime/workflow/engine.hpp"
#include "storage/store.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace keel::test {

struct engine_harness {
  temp_dir dir;
  std::unique_ptr<store> db;
  wf::workflow_catalog catalog;
  std::unique_ptr<wf::engine> eng;
  std::map<std::uint64_t, result<nlohmann::json>> replies;
  std::vector<wf::step_task> pending;  // dispatched, not yet answered
  std::uint64_t next_token = 1;

  // `definitions`: the workflow YAML texts the catalog holds.
  explicit engine_harness(const std::vector<const char*>& definitions, wf::engine_options opts = {}) {
    auto s = store::open(dir / "db");
    BOOST_REQUIRE(s.ok());
    db = std::move(s.value());
    for (const char* text : definitions) {
      auto d = wf::parse_workflow(text, "test", wf::builtin_action_names());
      BOOST_REQUIRE_MESSAGE(d.ok(), (d.ok() ? std::string() : d.err().message));
      catalog.add(std::move(d.value()));
    }
    eng = std::make_unique<wf::engine>(*db, catalog, opts);
    BOOST_REQUIRE(eng->recover().ok());
  }

  void flush() {
    auto fx = eng->flush();
    BOOST_REQUIRE_MESSAGE(fx.ok(), (fx.ok() ? std::string() : fx.err().message));
    for (auto& t : fx->dispatch) pending.push_back(t);
    for (auto& r : fx->replies) replies.emplace(r.token, r.body);
  }

  std::string start(const std::string& wf, nlohmann::json input, const std::string& key = {}) {
    auto token = next_token++;
    wf::start_request req;
    req.workflow = wf;
    req.input = std::move(input);
    req.idempotency_key = key;
    req.by = "test";
    eng->start(token, req);
    flush();
    auto& r = replies.at(token);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
    return r.value()["instance"].get<std::string>();
  }

  // Answers the oldest pending task for `step`.
  wf::step_task answer(const std::string& step, result<nlohmann::json> outcome) {
    for (auto it = pending.begin(); it != pending.end(); ++it) {
      if (it->step != step) continue;
      auto t = *it;
      pending.erase(it);
      eng->on_result(t, outcome);
      flush();
      return t;
    }
    BOOST_FAIL("no pending task for step " << step);
    return {};
  }

  // A node restart: a new engine on the same store recovers from it.
  void restart() {
    eng = std::make_unique<wf::engine>(*db, catalog, wf::engine_options{});
    BOOST_REQUIRE(eng->recover().ok());
    flush();
  }

  // Runs the engine's timers until `done` holds (or 5 s pass).
  template <class Pred>
  bool tick_until(Pred done) {
    return wait_until([&] {
      eng->tick(unix_now_ms());
      flush();
      return done();
    }, std::chrono::seconds(5));
  }

  std::vector<std::string> event_types(const std::string& id) {
    auto h = eng->history(id);
    BOOST_REQUIRE(h.ok());
    std::vector<std::string> out;
    for (const auto& e : h.value()) out.push_back(e["type"].get<std::string>() + (e.contains("step") ? ":" + e["step"].get<std::string>() : ""));
    return out;
  }
};

}  // namespace keel::test
