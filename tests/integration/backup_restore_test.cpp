// Backup while the node works, restore elsewhere, carry on: `keel backup`
// runs during a connector import whose events write records and start
// workflow instances that append to an external witness and then wait at a
// gate. The original node is killed; `keel restore` fills a new data dir
// and a node started there has every record as the original had it, an
// audit trail that verifies, and unfinished instances that resume. Syncing
// the connector again and approving every gate then finish the work with
// each record written once and each effect in the witness once.
#include <fstream>

#include "tests/integration/file_checks.hpp"
#include "tests/integration/node_fixture.hpp"

using namespace keel;
using namespace keel::test;

namespace {

const int rows = 2000;

std::string node_config(const temp_dir& dir) {
  return default_memory_section() + "connectors:\n  - name: crm\n    kind: files\n    path: " + (dir / "crm.csv") +
         "\n    batch: 10\n    mapping:\n      type: contact.updated\n      id: Customer ID\n"
         "      fields: {id: Customer ID, email: Email, name: Full Name}\n";
}

void write_inputs(const temp_dir& dir) {
  std::ofstream csv(dir / "crm.csv");
  csv << "Customer ID,Email,Full Name\n";
  for (int i = 0; i < rows; ++i) csv << "crm_" << i << ",user" << i << "@example.com,User " << i << "\n";
  write_file(dir / "workflows/welcome.yaml", R"(
name: welcome
trigger: {event: contact.updated}
steps:
  - {id: customer, action: records.get, args: {type: customer, field: email, value: "{{ input.email }}"}}
  - id: note
    needs: [customer]
    action: file.append
    args: {file: effects.txt, line: "welcome {{ input.email }}"}
    idempotency_key: "welcome-{{ input.email }}"   # a business key: the same effect from any node is one effect
  - id: confirm
    needs: [note]
    gate: true
    action: file.append
    args: {file: effects.txt, line: "confirmed {{ input.email }}"}
    idempotency_key: "confirm-{{ input.email }}"
)");
}

std::map<std::string, nlohmann::json> records_of(test_node& w) {
  auto r = w.call("records.list", {{"type", "customer"}, {"limit", 10000}});
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  std::map<std::string, nlohmann::json> out;
  for (const auto& rec : r->at("records")) out[rec["id"].get<std::string>()] = rec;
  return out;
}

std::vector<nlohmann::json> welcome_instances(test_node& w) {
  std::vector<nlohmann::json> out;
  auto r = w.call("tasks", {{"limit", 10000}});
  if (!r.ok()) return out;
  for (const auto& i : r->at("instances"))
    if (i["workflow"] == "welcome") out.push_back(i);
  return out;
}

std::size_t count_state(const std::vector<nlohmann::json>& all, const std::string& state) {
  return static_cast<std::size_t>(std::count_if(all.begin(), all.end(), [&](const auto& i) { return i["state"] == state; }));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(backup_restore_test)

BOOST_AUTO_TEST_CASE(a_backup_taken_under_load_restores_into_a_node_that_carries_on) {
  temp_dir dir("keel-backup");
  write_inputs(dir);
  test_node w(dir, {.workflows = true});
  w.start(node_config(dir));
  w.add_executors(1);

  // The import runs in the background; the backup starts once some of it
  // has landed, while the rest is still coming in.
  process sync({KEELCTL_BIN, "--endpoint", w.endpoint, "--timeout", "120s", "connectors", "sync", "crm"}, dir / "sync.log");
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return records_of(w).size() >= 40; }, 30s), w.log());
  auto backup = run_command({KEEL_BIN, "backup", "--data-dir", dir / "data", "--out", dir / "keel.backup", "--with-key"}, 60s);
  BOOST_REQUIRE_MESSAGE(backup.code == 0, backup.out << backup.err << "\nnode log:\n" << w.log());
  BOOST_TEST(has(backup.err, "a node runs on"), backup.err);
  BOOST_TEST(has(backup.err, "warning: --with-key puts the vault key in the backup"), backup.err);
  BOOST_TEST(has(backup.out, "backed up to " + (dir / "keel.backup")), backup.out);
  auto again = run_command({KEEL_BIN, "backup", "--data-dir", dir / "data", "--out", dir / "keel.backup"}, 60s);
  BOOST_TEST(again.code != 0);
  BOOST_TEST(has(again.err, "exists; give a new file name"), again.err);

  BOOST_REQUIRE_MESSAGE(wait_until([&] { return !sync.running(); }, 120s), "the import did not finish");
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return count_state(welcome_instances(w), "awaiting_approval") == rows; }, 60s), w.log());
  auto original = records_of(w);
  BOOST_REQUIRE_EQUAL(original.size(), static_cast<std::size_t>(rows));
  w.proc().kill9();
  for (auto& x : w.executors) x->kill9();

  // A damaged copy is refused before anything is written.
  {
    auto bytes = read_all(dir / "keel.backup");
    bytes[bytes.size() / 2] ^= 0x40;
    std::ofstream(dir / "damaged.backup", std::ios::binary) << bytes;
  }
  auto damaged = run_command({KEEL_BIN, "restore", dir / "damaged.backup", "--data-dir", dir / "broken"}, 60s);
  BOOST_TEST(damaged.code != 0);
  BOOST_TEST(has(damaged.err, "damaged.backup is damaged: "), damaged.err);  // where depends on the byte: a length, a value
  BOOST_TEST(!std::filesystem::exists(dir / "broken"));

  temp_dir dir2("keel-restored");
  auto restored = run_command({KEEL_BIN, "restore", dir / "keel.backup", "--data-dir", dir2 / "data"}, 60s);
  BOOST_REQUIRE_MESSAGE(restored.code == 0, restored.out << restored.err);
  BOOST_TEST(has(restored.out, "restored into " + (dir2 / "data")), restored.out);
  auto into_used = run_command({KEEL_BIN, "restore", dir / "keel.backup", "--data-dir", dir2 / "data"}, 60s);
  BOOST_TEST(has(into_used.err, "is not empty; restore into a new directory"), into_used.err);

  // The restored node: same workflows, same connector file, and its
  // executor appends to the same witness.
  std::filesystem::copy(dir / "workflows", dir2 / "workflows");
  std::filesystem::create_directory_symlink(dir / "files", dir2 / "files");
  test_node r(dir2, {.workflows = true});
  r.start(node_config(dir));
  r.add_executors(1);

  auto verify = r.ctl({"--json", "audit", "verify"});
  BOOST_REQUIRE_MESSAGE(verify.code == 0, verify.out << verify.err);
  BOOST_TEST(nlohmann::json::parse(verify.out)["ok"] == true, verify.out);
  auto snapshot = records_of(r);
  BOOST_TEST(snapshot.size() >= 40u);
  BOOST_TEST(snapshot.size() < static_cast<std::size_t>(rows), "the backup was not taken during the import");
  // Events the backup holds in the inbox but not yet as records are
  // canonicalized again by the restored node: the same record, stamped
  // with the time it was written there.
  auto content = [](nlohmann::json rec) {
    rec.erase("valid_from");
    rec.erase("valid_from_ms");
    return rec;
  };
  for (const auto& [id, rec] : snapshot)
    BOOST_TEST(content(rec) == content(original.at(id)), "record " << id << " differs: " << rec.dump() << " vs " << original.at(id).dump());

  // Carry on: the rest of the import, then every gate approved.
  auto resync = r.ctl({"--timeout", "120s", "connectors", "sync", "crm"});
  BOOST_REQUIRE_MESSAGE(resync.code == 0, resync.out << resync.err);
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return count_state(welcome_instances(r), "awaiting_approval") == rows; }, 60s), r.log());
  for (const auto& i : welcome_instances(r)) {
    auto ok = r.call("approve", {{"id", i["id"].get<std::string>() + "/confirm"}, {"by", "test"}});
    BOOST_REQUIRE_MESSAGE(ok.ok(), (ok.ok() ? "" : ok.err().message));
  }
  BOOST_REQUIRE_MESSAGE(wait_until([&] { return count_state(welcome_instances(r), "completed") == rows; }, 60s), r.log());
  auto after = records_of(r);
  BOOST_TEST(after.size() == static_cast<std::size_t>(rows));
  for (const auto& [id, rec] : after) BOOST_TEST(rec["version"] == 1, rec.dump());
  // The witness: every effect once, whichever node caused it.
  auto keys = count_keys(read_lines(dir / "files/effects.txt"));
  BOOST_TEST(keys.size() == static_cast<std::size_t>(2 * rows));
  for (const auto& [key, n] : keys) BOOST_TEST(n == 1, key << " appended " << n << " times");
}

BOOST_AUTO_TEST_SUITE_END()
