// Reloading a running node: `keelctl reload` and SIGHUP re-read the config
// file, the workflows, the policy file, memory mappings, glossaries and connectors;
// a running instance keeps the definition it started with; a reload with
// any error changes nothing and names the file, line and key; every reload
// is a config_change audit entry.
#include <signal.h>

#include <fstream>

#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::test;

namespace {

std::string greet_yaml(int version, const std::string& last_step) {
  return "name: greet\nversion: " + std::to_string(version) +
         "\nsteps:\n  - {id: check, action: noop, gate: true}\n  - {id: " + last_step + ", needs: [check], action: noop}\n";
}

std::string memory_yaml(bool with_name) {
  return std::string("memory:\n  entities:\n    customer:\n      fields: {email: string, name: string}\n      identity: [email]\n"
                     "  mappings:\n    - source: crm\n      event: contact.updated\n      entity: customer\n"
                     "      fields:\n        email: data.email\n") +
         (with_name ? "        name: data.name\n" : "");
}

std::string connector_yaml(const temp_dir& dir, const std::string& name) {
  return "  - name: " + name + "\n    kind: files\n    path: " + (dir / (name + ".csv")) +
         "\n    mapping:\n      type: contact.updated\n      id: Email\n      fields: {email: Email, name: Full Name}\n";
}

std::string node_yaml(const temp_dir& dir, bool v2) {
  return "metrics: {port: 0}\npolicy:\n  file: " + (dir / "policy.yaml") + "\n" + memory_yaml(v2) + "connectors:\n" +
         connector_yaml(dir, "crm") + (v2 ? connector_yaml(dir, "crm2") + "gateway:\n  heartbeat_misses: 5\n" : "");
}

nlohmann::json record_of(test_node& w, const std::string& email) {
  auto r = w.call("records.get", {{"type", "customer"}, {"field", "email"}, {"value", email}});
  return r.ok() ? r->value("record", nlohmann::json()) : nlohmann::json();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reload_test)

BOOST_AUTO_TEST_CASE(a_reload_swaps_what_changed_and_running_instances_keep_their_version) {
  temp_dir dir("keel-reload");
  write_file(dir / "workflows/greet.yaml", greet_yaml(1, "old_step"));
  write_file(dir / "policy.yaml", "version: 1\ndefault: allow\n");
  write_file(dir / "crm.csv", "Email,Full Name\nada@example.com,Ada\n");
  write_file(dir / "crm2.csv", "Email,Full Name\n");
  test_node w(dir, {.workflows = true});
  w.start(node_yaml(dir, false));
  BOOST_REQUIRE_EQUAL(w.ctl({"connectors", "sync", "crm"}).code, 0);
  BOOST_REQUIRE(wait_until([&] { return record_of(w, "ada@example.com").is_object(); }, 10s));
  BOOST_TEST(!record_of(w, "ada@example.com")["fields"].contains("name"));  // v1 mapping: email only
  auto started = w.require("run-workflow", {{"workflow", "greet"}});
  std::string v1 = started["instance"];
  BOOST_REQUIRE(wait_until([&] { return w.ctl({"approvals"}).out.find(v1) != std::string::npos; }, 10s));

  // Everything changes at once.
  write_file(dir / "workflows/greet.yaml", greet_yaml(2, "new_step"));
  write_file(dir / "workflows/added.yaml", "name: added\nsteps:\n  - {id: a, action: noop}\n");
  write_file(dir / "policy.yaml", "version: 1\ndefault: allow\nrules:\n  - name: no_shell\n    effect: deny\n    match: {action: shell}\n");
  write_file(w.config_path(), std::string("node:\n  fault_injection: true\nworkflows:\n  dir: ") +
                                  (dir / "workflows") + "\n  crash_at: \"\"\n" + node_yaml(dir, true));
  auto out = w.ctl({"reload"});
  BOOST_REQUIRE_MESSAGE(out.code == 0, out.out << out.err);
  BOOST_TEST(has(out.out, "added: added; changed: greet v1 -> v2"), out.out);
  BOOST_TEST(has(out.out, "memory.mappings"), out.out);
  BOOST_TEST(has(out.out, "changed: restarted"), out.out);
  BOOST_TEST(has(out.out, "gateway changed: restart the node"), out.out);
  auto j = w.ctl_json({"reload"});  // again: nothing more changed
  BOOST_TEST(j["changed"]["workflows"]["changed"].empty(), j.dump());
  BOOST_TEST(j["changed"]["policy"] == false);

  // The running instance goes on as v1; a new one is v2.
  w.require("approve", {{"id", v1 + "/check"}, {"by", "test"}});
  BOOST_REQUIRE(w.wait_state(v1, "completed", 10s));
  auto steps = w.task(v1)["steps"].dump();
  BOOST_TEST(has(steps, "old_step"), steps);
  BOOST_TEST(!has(steps, "new_step"), steps);
  std::string v2 = w.require("run-workflow", {{"workflow", "greet"}})["instance"];
  BOOST_TEST(w.task(v2)["version"] == 2, w.task(v2).dump());
  BOOST_TEST(w.require("run-workflow", {{"workflow", "added"}}).contains("instance"));
  // The new policy decides.
  auto policy = w.ctl_json({"policy", "show"});
  BOOST_TEST(has(policy.dump(), "no_shell"), policy.dump());
  // The restarted connectors know crm2; the new mapping keeps names.
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return has(w.ctl({"connectors"}).out, "crm2"); }, 15s), w.log());
  write_file(dir / "crm.csv", "Email,Full Name\nada@example.com,Ada\nbob@example.com,Bob\n");
  BOOST_REQUIRE_EQUAL(w.ctl({"connectors", "sync", "crm"}).code, 0);
  BOOST_REQUIRE(wait_until([&] { return record_of(w, "bob@example.com").is_object(); }, 10s));
  BOOST_TEST(record_of(w, "bob@example.com")["fields"]["name"] == "Bob");
  // Audited, with what changed.
  auto audit = w.ctl_json({"audit", "tail", "--kind", "config_change"});
  BOOST_TEST(has(audit.dump(), "\"reloaded\""), audit.dump());
  BOOST_TEST(has(audit.dump(), "greet v1 -> v2"), audit.dump());
}

BOOST_AUTO_TEST_CASE(a_reload_with_an_error_changes_nothing_and_sighup_reloads) {
  temp_dir dir("keel-reload-bad");
  write_file(dir / "workflows/greet.yaml", greet_yaml(1, "old_step"));
  write_file(dir / "policy.yaml", "version: 1\ndefault: allow\n");
  write_file(dir / "crm.csv", "Email,Full Name\n");
  test_node w(dir, {.workflows = true});
  w.start(node_yaml(dir, false));

  // A bad workflow file: refused with its file, line and key.
  write_file(dir / "workflows/greet.yaml", greet_yaml(2, "new_step") + "colour: blue\n");
  write_file(dir / "workflows/added.yaml", "name: added\nsteps:\n  - {id: a, action: noop}\n");
  auto bad = w.ctl({"reload"});
  BOOST_TEST(bad.code != 0);
  BOOST_TEST(has(bad.err, "reload refused, nothing changed"), bad.err);
  BOOST_TEST(has(bad.err, dir / "workflows/greet.yaml:6"), bad.err);
  BOOST_TEST(has(bad.err, "colour"), bad.err);
  auto wf = w.ctl({"workflows"}).out;
  BOOST_TEST(!has(wf, "added"), wf);  // the good file did not slip in either
  // A bad policy file: the same.
  write_file(dir / "workflows/greet.yaml", greet_yaml(2, "new_step"));
  write_file(dir / "policy.yaml", "version: 1\ndefault: sometimes\n");
  bad = w.ctl({"reload"});
  BOOST_TEST(bad.code != 0);
  BOOST_TEST(has(bad.err, dir / "policy.yaml:2"), bad.err);
  BOOST_TEST(!has(w.ctl({"workflows"}).out, "added"));

  // Fixed, then SIGHUP instead of keelctl.
  write_file(dir / "policy.yaml", "version: 1\ndefault: allow\n");
  BOOST_REQUIRE_EQUAL(::kill(w.proc().pid(), SIGHUP), 0);
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return has(w.ctl({"workflows"}).out, "added"); }, 10s), w.log());
  BOOST_TEST(w.proc().log_contains("received SIGHUP; reloading the config"));
  auto audit = w.ctl_json({"audit", "tail", "--kind", "config_change"});
  BOOST_TEST(has(audit.dump(), "\"signal\""), audit.dump());
  BOOST_TEST(w.proc().running());
}

BOOST_AUTO_TEST_CASE(a_reload_reads_the_glossary_files_again) {
  temp_dir dir("keel-reload-glossary");
  write_file(dir / "policy.yaml", "version: 1\ndefault: allow\n");
  write_file(dir / "glossary.txt", "# our products\n");
  test_node w(dir);
  w.start("metrics: {port: 0}\npolicy:\n  file: " + (dir / "policy.yaml") + "\nmemory:\n  glossary: [builtin, " +
          (dir / "glossary.txt") + "]\n");
  BOOST_REQUIRE_EQUAL(w.ctl({"memory", "add", "Ada's Zorblax Pro arrived broken"}).code, 0);
  auto keyword_share = [&] {
    auto hits = w.ctl_json({"memory", "search", "flux capacitor", "--explain", "-k", "1"})["hits"];
    return hits.empty() ? -1.0 : hits[0]["explain"].value("keyword", 0.0);
  };
  BOOST_TEST(keyword_share() == 0.0);  // found, if at all, by recency alone

  // The operator adds a group to the file; the config does not change.
  write_file(dir / "glossary.txt", "# our products\nflux capacitor, zorblax pro\n");
  auto out = w.ctl({"reload"});
  BOOST_REQUIRE_MESSAGE(out.code == 0, out.err);
  BOOST_TEST(has(out.out, "memory.glossary"), out.out);
  BOOST_TEST(keyword_share() > 0.5);

  // A file that does not parse: refused, the glossary in use stays.
  write_file(dir / "glossary.txt", "flux capacitor, the\n");
  auto bad = w.ctl({"reload"});
  BOOST_TEST(bad.code != 0);
  BOOST_TEST(has(bad.err, "reload refused, nothing changed: memory.glossary: " + (dir / "glossary.txt") + ":1"), bad.err);
  BOOST_TEST(keyword_share() > 0.5);
}

BOOST_AUTO_TEST_SUITE_END()
