// A real memory_service over a fresh LevelDB directory for the memory-op
// suites, no node process: each op is posted to the service's worker thread,
// as a node's agents post it, and the test waits for its answer on a future.
// Audit entries (records.forget, records.purge) are collected for checks.
#pragma once

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/memory/memory_ops.hpp"
#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

namespace keel::test {

// Two entity types and one mapping with a note: enough for every op.
// `more_mappings`: list entries to add under mappings:, indented 4.
inline std::string memory_op_config(const std::string& more_mappings = "") {
  return R"(
memory:
  dimension: 64
  entities:
    customer:
      fields: {email: string, name: string, plan: string, mrr: number}
      identity: [email]
    invoice:
      fields: {stripe_id: string, customer_email: string, amount: number}
      identity: [stripe_id]
  mappings:
    - source: crm
      event: contact.updated
      entity: customer
      fields:
        email: {from: data.email, convert: lower}
        name: data.name
      note: "CRM contact {{ record.email }} is now called {{ data.name }}"
)" + more_mappings + R"(
  pruning:
    memory:
      scratch: {max_items: 1}
)";
}

struct audit_entry {
  std::string kind, actor, subject;
  nlohmann::json detail;
};

struct memory_op_fixture {
  temp_dir dir{"keel-memops"};
  std::unique_ptr<store> db;
  std::unique_ptr<memory_service> mem;
  std::mutex audit_mu;
  std::vector<audit_entry> audited;

  memory_op_fixture() {
    auto opened = store::open(dir / "data");
    BOOST_REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.err().message));
    db = std::move(opened.value());
    auto m = memory_service::open(memory_op_config(), "memory_op_test.yaml", *db);
    BOOST_REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.err().message));
    mem = std::move(m.value());
    mem->set_audit([this](const std::string& kind, const std::string& actor, const std::string& subject, nlohmann::json d) {
      std::lock_guard lock(audit_mu);
      audited.push_back({kind, actor, subject, std::move(d)});
    });
  }
  ~memory_op_fixture() {
    mem.reset();  // joins the worker before the store closes
    db.reset();
  }

  // Runs `fn` on the memory worker and waits for what it returns.
  template <class T>
  T on_worker(std::function<T()> fn) {
    std::promise<T> done;
    auto answer = done.get_future();
    mem->post([&] { done.set_value(fn()); });
    BOOST_REQUIRE_MESSAGE(answer.wait_for(std::chrono::seconds(60)) == std::future_status::ready,
                          "the memory worker did not answer within 60 s");
    return answer.get();
  }

  result<nlohmann::json> op(const std::string& name, const nlohmann::json& args, const std::string& actor = "operator") {
    return on_worker<result<nlohmann::json>>([&] { return run_memory_op(*mem, name, args, actor); });
  }

  // The op must succeed; its answer.
  nlohmann::json ok(const std::string& name, const nlohmann::json& args, const std::string& actor = "operator") {
    auto r = op(name, args, actor);
    BOOST_REQUIRE_MESSAGE(r.ok(), name << " " << args.dump() << " failed: " << (r.ok() ? "" : r.err().message));
    return *r;
  }

  // The op must fail with `code`; its error.
  error fails(const std::string& name, const nlohmann::json& args, const char* code) {
    auto r = op(name, args);
    BOOST_REQUIRE_MESSAGE(!r.ok(), name << " " << args.dump() << " succeeded: " << (r.ok() ? r->dump() : ""));
    BOOST_CHECK_MESSAGE(r.err().code == code, name << ": code " << r.err().code << ", not " << code << ": "
                                                    << r.err().message);
    return r.err();
  }

  // The op must fail with bad_request and a message containing `says`.
  void refuses(const std::string& name, const nlohmann::json& args, const std::string& says) {
    auto e = fails(name, args, errc::bad_request);
    BOOST_CHECK_MESSAGE(has(e.message, says), name << " " << args.dump() << ": \"" << e.message << "\" does not say \""
                                                  << says << "\"");
  }

  result<nlohmann::json> canonicalize_event(const nlohmann::json& event) {
    return on_worker<result<nlohmann::json>>([&] { return canonicalize(*mem, event); });
  }

  std::vector<audit_entry> audit_log() {
    std::lock_guard lock(audit_mu);
    return audited;
  }
};

// A customer record through records.put; its answer.
inline nlohmann::json put_customer(memory_op_fixture& f, const std::string& id, const nlohmann::json& fields) {
  return f.ok("records.put", {{"type", "customer"}, {"id", id}, {"fields", fields}, {"source", "crm"}});
}

}  // namespace keel::test
