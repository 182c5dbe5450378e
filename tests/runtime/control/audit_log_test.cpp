// The audit chain in a real LevelDB: appends survive a restart, tail and
// iteration read them back, and tampering done directly in the store (one
// flipped byte, one deleted entry, two swapped entries, a truncated tail, a
// rewritten chain under a checkpoint) is found at exactly the right entry.
#include <boost/test/unit_test.hpp>

#include <limits>

#include "runtime/base/crypto.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/control/audit_log.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::control;

namespace {

using keel::test::has;

// A data dir holding `n` entries, closed again so the test edits the store itself.
struct trail {
  test::temp_dir dir{"audit"};
  std::unique_ptr<store> db;
  explicit trail(int n, std::uint64_t checkpoint_every = 1000) {
    db = std::move(store::open(dir / "data").value());
    auto log = audit_log::open(*db, nullptr, checkpoint_every).value();
    for (int i = 1; i <= n; ++i)
      BOOST_REQUIRE(log->append(i % 2 ? "side_effect" : "approval", "executor", "step-" + std::to_string(i),
                                {{"amount", i * 10}, {"note", "entry number " + std::to_string(i)}})
                        .ok());
  }
  audit_verify_report verify() { return audit_log::open(*db).value()->verify().value(); }
  std::string raw(std::uint64_t seq) { return db->get(audit_log::entry_key(seq)).value().value(); }
  void put(std::uint64_t seq, const std::string& v) { BOOST_REQUIRE(db->put(audit_log::entry_key(seq), v).ok()); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(audit_log_test)

BOOST_AUTO_TEST_CASE(append_tail_iterate_and_verify_across_a_restart) {
  trail t(25, 10);
  auto log = audit_log::open(*t.db, nullptr, 10).value();
  BOOST_TEST(log->size() == 25u);
  auto e = log->append("config_change", "operator", "config/policy.yaml", {{"sha256", "abc"}}, "trace-1", true);
  BOOST_REQUIRE(e.ok());
  BOOST_TEST(e->seq == 26u);
  auto tail = log->tail(3).value();
  BOOST_REQUIRE(tail.size() == 3u);
  BOOST_TEST(tail[0].seq == 24u);
  BOOST_TEST(tail[2].kind == "config_change");
  BOOST_TEST(tail[2].prev_hash == tail[1].hash);
  std::uint64_t seen = 0, first = 0;
  BOOST_REQUIRE(log->for_each(20, [&](const audit_entry& x) {
                     if (!first) first = x.seq;
                     return ++seen < 5;
                   }).ok());
  BOOST_TEST(first == 20u);
  BOOST_TEST(seen == 5u);
  auto rep = log->verify().value();
  BOOST_TEST(rep.ok);
  BOOST_TEST(rep.entries_checked == 26u);
  BOOST_TEST(t.db->get("ctl/audit/cp/0000000000000020").value().has_value());
}

// The stored text is written without building a JSON tree: it must be the
// tree's own serialisation, and the hash the one trails written from the
// tree carry (so older trails still verify), whatever the text holds.
BOOST_AUTO_TEST_CASE(stored_text_and_hash_are_those_of_the_json_tree) {
  test::temp_dir dir{"audit-text"};
  auto db = store::open(dir / "data").value();
  auto log = audit_log::open(*db).value();
  const std::vector<std::pair<std::string, nlohmann::json>> cases = {
      {"plain", {{"a", 1}}},
      {"quote \" and \\ back\nslash\t\x01", {{"z", {1, 2.5, -3, nullptr, true}}, {"a", {{"nested", "\u00e9\u4e2d"}}}}},
      {"", nlohmann::json::array({"x", {{"k", ""}}})},
      {"caf\u00e9", nullptr},
      {"big", {{"n", std::numeric_limits<std::int64_t>::min()}, {"u", std::numeric_limits<std::uint64_t>::max()}}}};
  for (const auto& [subject, detail] : cases)
    BOOST_REQUIRE(log->append("kind \"" + subject + "\"", "actor\\" + subject, subject, detail, "trace/" + subject).ok());
  std::string prev(64, '0');
  for (std::uint64_t seq = 1; seq <= cases.size(); ++seq) {
    auto raw = db->get(audit_log::entry_key(seq)).value().value();
    auto tree = nlohmann::json::parse(raw);
    BOOST_TEST(tree.dump() == raw);
    BOOST_TEST(tree["prev_hash"] == prev);
    auto hash = tree["hash"].get<std::string>();
    tree.erase("hash");
    BOOST_TEST(hash == sha256_hex("keel-audit-v1\n" + prev + "\n" + tree.dump()));
    prev = hash;
  }
  BOOST_TEST(log->verify().value().ok);
}

BOOST_AUTO_TEST_CASE(a_flipped_byte_is_found_at_its_entry) {
  trail t(20);
  auto v = t.raw(7);
  auto pos = v.find("entry number 7");
  BOOST_REQUIRE(pos != std::string::npos);
  v[pos + 6] ^= 0x01;  // 'n' -> 'o': still valid JSON, different content
  t.put(7, v);
  auto rep = t.verify();
  BOOST_TEST(!rep.ok);
  BOOST_TEST(rep.first_bad_seq == 7u);
  BOOST_TEST(rep.entries_checked == 6u);
  BOOST_TEST(has(rep.problem, "entry 7 was altered"));

  // A flip that breaks the JSON is named too.
  trail u(5);
  auto w = u.raw(3);
  w[0] ^= 0x20;
  u.put(3, w);
  auto rep2 = u.verify();
  BOOST_TEST(rep2.first_bad_seq == 3u);
  BOOST_TEST(has(rep2.problem, "entry 3 is unreadable"));
}

BOOST_AUTO_TEST_CASE(a_deleted_entry_is_found_where_it_was) {
  trail t(20);
  write_batch gone;
  gone.del(audit_log::entry_key(12));
  BOOST_REQUIRE(t.db->write(gone, false).ok());
  auto rep = t.verify();
  BOOST_TEST(!rep.ok);
  BOOST_TEST(rep.first_bad_seq == 12u);
  BOOST_TEST(has(rep.problem, "entry 12 is missing (deleted): the next stored entry is 13"));

  trail last(8);
  write_batch gone8;
  gone8.del(audit_log::entry_key(8));
  BOOST_REQUIRE(last.db->write(gone8, false).ok());
  auto rep2 = last.verify();
  BOOST_TEST(rep2.first_bad_seq == 8u);
  BOOST_TEST(has(rep2.problem, "head says the log ends at 8"));
}

BOOST_AUTO_TEST_CASE(swapped_entries_are_found_at_the_first_of_them) {
  trail t(20);
  auto a = t.raw(5), b = t.raw(9);
  t.put(5, b);
  t.put(9, a);
  auto rep = t.verify();
  BOOST_TEST(!rep.ok);
  BOOST_TEST(rep.first_bad_seq == 5u);
  BOOST_TEST(has(rep.problem, "position 5 holds entry 9: entries were reordered"));

  // Swapped with their seq fields rewritten to fit: the links give it away.
  trail u(20);
  auto x = nlohmann::json::parse(u.raw(5)), y = nlohmann::json::parse(u.raw(6));
  std::swap(x["seq"], y["seq"]);
  u.put(5, y.dump());
  u.put(6, x.dump());
  auto rep2 = u.verify();
  BOOST_TEST(rep2.first_bad_seq == 5u);
  BOOST_TEST(has(rep2.problem, "entry 5"));
}

BOOST_AUTO_TEST_CASE(a_rewritten_chain_is_caught_by_its_checkpoint) {
  trail t(12, 5);
  // Rewrite entry 3 and re-chain everything after it consistently; only the
  // checkpoint at 5 (and the head) still remember the original hashes.
  std::string prev = nlohmann::json::parse(t.raw(2))["hash"];
  for (std::uint64_t s = 3; s <= 12; ++s) {
    auto j = nlohmann::json::parse(t.raw(s));
    if (s == 3) j["detail"]["amount"] = 9999;
    audit_entry e;
    e.seq = s, e.ts_ms = j["ts_ms"], e.kind = j["kind"], e.actor = j["actor"], e.subject = j["subject"];
    e.detail = j["detail"], e.trace_id = j["trace_id"], e.prev_hash = prev;
    e.hash = audit_log::compute_hash(e);
    prev = e.hash;
    t.put(s, e.to_json().dump());
  }
  auto rep = t.verify();
  BOOST_TEST(!rep.ok);
  BOOST_TEST(rep.first_bad_seq == 5u);
  BOOST_TEST(has(rep.problem, "differs from the checkpoint"));
}

BOOST_AUTO_TEST_CASE(retention_removes_whole_intervals_and_the_rest_still_verifies) {
  trail t(25, 10);  // checkpoints at 10 and 20
  auto log = audit_log::open(*t.db, nullptr, 10).value();
  // Nothing is older than a cutoff in the past.
  BOOST_TEST(log->prune_before(0).value() == 0u);
  // Everything is older than a cutoff in the future: up to the last
  // checkpoint before the newest entry goes, one interval per call at most.
  BOOST_TEST(log->prune_before(unix_now_ms() + 60'000, 1).value() == 10u);
  BOOST_TEST(log->pruned_through() == 10u);
  BOOST_TEST(log->prune_before(unix_now_ms() + 60'000).value() == 10u);
  BOOST_TEST(log->pruned_through() == 20u);
  BOOST_TEST(!t.db->get(audit_log::entry_key(20)).value().has_value());
  auto rep = t.verify();
  BOOST_TEST(rep.ok, rep.problem);
  BOOST_TEST(rep.entries_checked == 5u);
  BOOST_TEST(rep.pruned_through == 20u);
  BOOST_TEST(log->tail(100).value().size() == 5u);
  BOOST_TEST(log->tail(100, "approval").value().size() == 2u);  // 22 and 24
  // The log goes on, and reopened it still knows its floor.
  BOOST_REQUIRE(log->append("approval", "keelctl", "x").ok());
  BOOST_TEST(audit_log::open(*t.db).value()->pruned_through() == 20u);
  BOOST_TEST(t.verify().ok);
  // Tampering after a prune is still found: the first kept entry must link to the floor.
  auto first = t.raw(21);
  auto at = first.find("step-21");
  BOOST_REQUIRE(at != std::string::npos);
  first[at + 5] = '9';
  t.put(21, first);
  auto broken = t.verify();
  BOOST_TEST(!broken.ok);
  BOOST_TEST(broken.first_bad_seq == 21u);
}

BOOST_AUTO_TEST_SUITE_END()
