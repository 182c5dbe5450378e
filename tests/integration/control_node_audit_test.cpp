// The audit trail with real processes: operations append hash-chained
// entries, `keelctl audit verify` passes; then, with the node stopped, one
// byte of one entry is changed in the LevelDB store, and after a restart
// verify fails naming that entry (plain and --json, exit code 1).
#include "storage/store.hpp"
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

#include "runtime/control/audit_log.hpp"

using namespace keel;
using namespace keel::test;

BOOST_AUTO_TEST_SUITE(control_node_audit_test)

BOOST_AUTO_TEST_CASE(verify_passes_then_finds_a_flipped_byte) {
  temp_dir dir("keel-audit");
  write_file(dir / "input/v.txt", "value-one-xyz");
  test_node w(dir, {.workflows = true});
  w.start(control_yaml(""));
  for (const char* name : {"alpha", "beta", "gamma", "delta"}) {
    auto s = keelctl_with_stdin(w.endpoint, {"secrets", "set", name}, dir / "input/v.txt");
    BOOST_REQUIRE_MESSAGE(s.code == 0, s.out + s.err);
  }
  auto ok = w.ctl({"audit", "verify"});
  BOOST_TEST(ok.code == 0, ok.out + ok.err);
  BOOST_TEST(has(ok.out, "audit trail ok: 5 entries"), ok.out);  // config load + 4 secrets
  auto tail = w.ctl({"audit", "tail"});
  BOOST_TEST(tail.code == 0);
  BOOST_TEST(has(tail.out, "config_change"));
  BOOST_TEST(has(tail.out, "gamma"));
  BOOST_TEST(w.proc().terminate() == 0);

  {  // Offline: flip one byte of entry 3 (keeping the JSON readable).
    auto db = store::open(dir / "data");
    BOOST_REQUIRE(db.ok());
    auto key = control::audit_log::entry_key(3);
    auto v = (*db)->get(key);
    BOOST_REQUIRE(v.ok() && v->has_value());
    auto text = **v;
    auto at = text.find("beta");
    BOOST_REQUIRE(at != std::string::npos);
    text[at] = 'B';
    BOOST_REQUIRE((*db)->put(key, text, true).ok());
  }

  w.start(control_yaml(""));
  auto bad = w.ctl({"audit", "verify"});
  BOOST_TEST(bad.code == 1, bad.out + bad.err);
  BOOST_TEST(has(bad.err, "entry 3"), bad.err);
  auto bad_json = w.ctl({"--json", "audit", "verify"});
  BOOST_TEST(bad_json.code == 1);
  auto j = nlohmann::json::parse(bad_json.out);
  BOOST_TEST(j["ok"] == false);
  BOOST_TEST(j["first_bad_seq"] == 3);
  BOOST_TEST(j["entries_checked"] == 2);
}

BOOST_AUTO_TEST_SUITE_END()
