// Versioned records on a real LevelDB directory: versions and their diffs,
// reads as of a time, optimistic concurrency, identity uniqueness, forget
// (invalidate) versus purge, and bad input that must leave no key behind.
#include <boost/test/unit_test.hpp>

#include <atomic>

#include "storage/memory/content_hash.hpp"
#include "storage/memory/memory_config.hpp"
#include "storage/memory/record_store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;
using namespace keel::memory;
using nlohmann::json;

namespace {

// A batch of puts written as a list, for bytes laid out by hand.
write_batch puts(std::initializer_list<std::pair<std::string, std::string>> kv) {
  write_batch b;
  for (const auto& [k, v] : kv) b.put(k, v);
  return b;
}

const char* config_yaml = R"(
entities:
  customer:
    fields: {email: string, name: string, plan: string, seats: int, mrr: number, vip: bool, signed_up: timestamp}
    identity: [email]
)";

struct records_fixture {
  test::temp_dir dir;
  std::unique_ptr<store> db;
  std::shared_ptr<const schema> types;
  std::atomic<std::int64_t> now{1'000'000};
  std::unique_ptr<record_store> records;

  records_fixture() {
    db = std::move(store::open(dir.path()).value());
    auto cfg = parse_memory_config(config_yaml, "test.yaml");
    BOOST_REQUIRE_MESSAGE(cfg.ok(), (cfg.ok() ? std::string() : cfg.err().message));
    types = cfg->entities;
    records = std::make_unique<record_store>(*db, types, store_options{[this] { return now.load(); }});
  }
  result<write_outcome> put(const std::string& id, json fields, const std::string& source = "crm") {
    record_write w;
    w.type = "customer";
    w.id = id;
    w.fields = std::move(fields);
    w.source = source;
    return records->put(w);
  }
  std::vector<std::string> keys(const std::string& prefix = "rec/") {
    std::vector<std::string> out;
    BOOST_REQUIRE(db->scan(prefix, [&](const std::string& k, const std::string&) {
      out.push_back(k);
      return true;
    }).ok());
    return out;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(record_store_test)

BOOST_FIXTURE_TEST_CASE(every_change_is_a_new_version_with_a_diff, records_fixture) {
  BOOST_TEST(put("c_42", {{"email", "ana@example.com"}, {"plan", "free"}})->version == 1u);
  now += 1000;
  auto second = put("c_42", {{"plan", "pro"}, {"seats", 3}}, "stripe");
  BOOST_REQUIRE(second.ok());
  BOOST_TEST(second->version == 2u);
  BOOST_TEST(second->changed);
  now += 1000;
  auto same = put("c_42", {{"plan", "pro"}});  // nothing changes: no version
  BOOST_TEST(same->version == 2u);
  BOOST_TEST(!same->changed);

  auto cur = records->get("customer", "c_42");
  BOOST_REQUIRE(cur->has_value());
  BOOST_TEST((*cur)->fields == json({{"email", "ana@example.com"}, {"plan", "pro"}, {"seats", 3}}));
  BOOST_TEST((*cur)->field_sources["plan"] == "stripe");
  BOOST_TEST((*cur)->field_sources["email"] == "crm");
  BOOST_TEST((*cur)->hash.size() == 64u);

  auto h = records->history("customer", "c_42");
  BOOST_REQUIRE(h.ok());
  BOOST_REQUIRE(h->size() == 2u);
  BOOST_TEST((*h)[0].rec.source == "crm");
  BOOST_TEST((*h)[1].rec.source == "stripe");
  BOOST_TEST(*(*h)[0].rec.valid_to_ms == (*h)[1].rec.valid_from_ms);
  BOOST_TEST(!(*h)[1].rec.valid_to_ms.has_value());
  const auto& changes = (*h)[1].changes;
  BOOST_REQUIRE(changes.size() == 2u);
  BOOST_TEST(changes[0].field == "plan");
  BOOST_TEST(changes[0].before == "free");
  BOOST_TEST(changes[0].after == "pro");
  BOOST_TEST(changes[1].field == "seats");
  BOOST_TEST(changes[1].before.is_null());
}

BOOST_FIXTURE_TEST_CASE(reads_as_of_a_time, records_fixture) {
  BOOST_REQUIRE(put("c_1", {{"email", "a@x.io"}, {"plan", "free"}}).ok());  // t = 1,000,000
  now = 2'000'000;
  BOOST_REQUIRE(put("c_1", {{"plan", "pro"}}).ok());
  now = 3'000'000;
  BOOST_REQUIRE(put("c_1", {{"plan", "team"}}).ok());

  auto at = [&](std::int64_t t) { return records->get("customer", "c_1", t).value(); };
  BOOST_TEST(!at(999'999).has_value());  // did not exist yet
  BOOST_TEST(at(1'000'000)->fields["plan"] == "free");
  BOOST_TEST(at(1'999'999)->fields["plan"] == "free");
  BOOST_TEST(*at(1'999'999)->valid_to_ms == 2'000'000);
  BOOST_TEST(at(2'500'000)->fields["plan"] == "pro");
  BOOST_TEST(at(9'000'000)->fields["plan"] == "team");
}

BOOST_FIXTURE_TEST_CASE(expected_version_detects_a_lost_update, records_fixture) {
  BOOST_REQUIRE(put("c_1", {{"email", "a@x.io"}}).ok());
  record_write w;
  w.type = "customer";
  w.id = "c_1";
  w.fields = {{"plan", "pro"}};
  w.expected_version = 1;
  BOOST_REQUIRE(records->put(w).ok());  // reader A wins
  w.fields = {{"plan", "team"}};        // reader B read version 1 too
  auto lost = records->put(w);
  BOOST_REQUIRE(!lost.ok());
  BOOST_TEST(lost.err().code == errc::conflict);
  BOOST_TEST(lost.err().message.find("is at version 2 but the write expected version 1") != std::string::npos);
  BOOST_TEST(records->get("customer", "c_1").value()->fields["plan"] == "pro");

  w.id = "c_new";
  w.expected_version = 0;  // create only
  BOOST_TEST(records->put(w).ok());
  BOOST_TEST(records->put(w).err().code == errc::conflict);
}

BOOST_FIXTURE_TEST_CASE(an_identity_value_belongs_to_one_record, records_fixture) {
  BOOST_REQUIRE(put("c_1", {{"email", "Ana@Example.com"}}).ok());
  auto dup = put("c_2", {{"email", "ana@example.com "}});
  BOOST_REQUIRE(!dup.ok());
  BOOST_TEST(dup.err().code == errc::conflict);
  BOOST_TEST(dup.err().message.find("customer/c_1") != std::string::npos);
  BOOST_TEST(*records->find_by_identity("customer", "email", "ANA@example.com").value() == "c_1");
  // Changing the email frees the old value.
  BOOST_REQUIRE(put("c_1", {{"email", "ana@new.io"}}).ok());
  BOOST_TEST(put("c_2", {{"email", "ana@example.com"}}).ok());
}

BOOST_FIXTURE_TEST_CASE(invalidate_keeps_history_purge_erases_it, records_fixture) {
  BOOST_REQUIRE(put("c_1", {{"email", "a@x.io"}, {"plan", "pro"}}).ok());
  now += 10;
  auto gone = records->invalidate("customer", "c_1", "keelctl");
  BOOST_REQUIRE(gone.ok());
  BOOST_TEST(gone->version == 2u);
  BOOST_TEST(!records->get("customer", "c_1").value().has_value());
  BOOST_TEST(records->get("customer", "c_1", now - 10).value()->fields["plan"] == "pro");  // still known as of then
  auto h = records->history("customer", "c_1").value();
  BOOST_REQUIRE(h.size() == 2u);
  BOOST_TEST(h[1].rec.invalidated);
  BOOST_TEST(!records->find_by_identity("customer", "email", "a@x.io").value().has_value());
  BOOST_TEST(records->invalidate("customer", "c_1", "keelctl").err().code == errc::not_found);
  // A later write brings it back as version 3.
  BOOST_TEST(put("c_1", {{"email", "a@x.io"}})->version == 3u);

  BOOST_TEST(records->purge("customer", "c_1").value() == 3u);
  BOOST_TEST(records->history("customer", "c_1").value().empty());
  for (const auto& k : keys()) {
    BOOST_TEST(k.find("c_1") == std::string::npos, k);  // the log names it by value, not by key
  }
  BOOST_TEST(records->purge("customer", "c_1").value() == 0u);  // not an error
}

BOOST_FIXTURE_TEST_CASE(bad_input_is_a_clear_error_and_writes_nothing, records_fixture) {
  auto before = keys();
  auto expect = [&](result<write_outcome> r, const std::string& code, const std::string& says) {
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.err().code == code);
    BOOST_TEST(r.err().message.find(says) != std::string::npos, r.err().message);
  };
  expect(put("c_1", {{"seats", "three"}}), errc::bad_request, "field 'seats' of customer must be int, got a string");
  expect(put("c_1", {{"signed_up", "yesterday"}}), errc::bad_request, "must be timestamp (RFC 3339");
  expect(put("c_1", {{"vip", 1}}), errc::bad_request, "must be bool");
  expect(put("c_1", {{"colour", "red"}}), errc::bad_request, "unknown field 'colour' for entity type 'customer'");
  expect(put("c_1", json::array({1, 2})), errc::bad_request, "must be a JSON object");
  expect(put("bad/id", {{"plan", "x"}}), errc::bad_request, "record id 'bad/id' is not valid");
  record_write w;
  w.type = "custmer";
  w.id = "c_1";
  expect(records->put(w), errc::bad_request, "unknown entity type 'custmer'; declared types: customer");
  BOOST_TEST(keys() == before, boost::test_tools::per_element());
  BOOST_TEST(records->get("customer", "c_1").value().has_value() == false);
}

BOOST_FIXTURE_TEST_CASE(timestamps_are_normalised_and_trim_keeps_the_newest, records_fixture) {
  BOOST_REQUIRE(put("c_1", {{"signed_up", "2026-11-01T02:00:00+02:00"}}).ok());
  BOOST_TEST(records->get("customer", "c_1").value()->fields["signed_up"] == "2026-11-01T00:00:00.000Z");
  for (int i = 0; i < 5; ++i) BOOST_REQUIRE(put("c_1", {{"seats", i}}).ok());
  BOOST_TEST(records->trim_versions("customer", "c_1", 2, true).value() == 4u);
  BOOST_TEST(records->history("customer", "c_1").value().size() == 6u);  // dry run
  BOOST_TEST(records->trim_versions("customer", "c_1", 2, false).value() == 4u);
  auto h = records->history("customer", "c_1").value();
  BOOST_REQUIRE(h.size() == 2u);
  BOOST_TEST(h.back().rec.version == 6u);
  BOOST_TEST(records->get("customer", "c_1").value()->fields["seats"] == 4);
}

// Databases written before value format 2 hold msgpack maps (type, id and
// version inside, the hash as 64 hex digits, rec/cur holding the version
// number, feed entries as maps). These are those bytes, written directly;
// the new code must read them, diff them, and write on top of them.
BOOST_AUTO_TEST_CASE(values_written_before_format_2_still_decode) {
  test::temp_dir dir;
  auto db = std::move(store::open(dir.path()).value());
  auto cfg = parse_memory_config(config_yaml, "test.yaml");
  BOOST_REQUIRE(cfg.ok());
  auto old_bytes = [](const json& j) {
    auto b = json::to_msgpack(j);
    return std::string(b.begin(), b.end());
  };
  const json v1_fields{{"email", "ana@example.com"}, {"plan", "free"}};
  const json v2_fields{{"email", "ana@example.com"}, {"plan", "pro"}};
  // Version 1 in the oldest layout (every field's source), version 2 with
  // only the sources that differ from the version's own.
  BOOST_REQUIRE(db->write(puts({
      {"rec/cur/customer/c_old", "2"},
      {"rec/ver/customer/c_old/0000000001",
       old_bytes({{"type", "customer"}, {"id", "c_old"}, {"version", 1}, {"fields", v1_fields},
                  {"sources", {{"email", "crm"}, {"plan", "crm"}}}, {"from", 1000}, {"source", "crm"}, {"event", "ev_1"},
                  {"hash", content_hash(v1_fields.dump())}})},
      {"rec/ver/customer/c_old/0000000002",
       old_bytes({{"type", "customer"}, {"id", "c_old"}, {"version", 2}, {"fields", v2_fields},
                  {"sources", {{"email", "crm"}}}, {"from", 2000}, {"source", "stripe"}, {"event", ""},
                  {"hash", content_hash(v2_fields.dump())}})},
      {"rec/idx/customer/email/ana@example.com", "c_old"},
      {"rec/log/00000000000000000001", old_bytes({{"type", "customer"}, {"id", "c_old"}, {"version", 1}, {"op", "put"}, {"at", 1000}})},
      {"rec/log/00000000000000000002", old_bytes({{"type", "customer"}, {"id", "c_old"}, {"version", 2}, {"op", "put"}, {"at", 2000}})},
  })).ok());

  std::int64_t now = 3000;
  record_store records(*db, cfg->entities, store_options{[&] { return now; }});
  BOOST_TEST(records.feed_seq() == 2u);
  auto cur = records.get("customer", "c_old").value();
  BOOST_REQUIRE(cur.has_value());
  BOOST_TEST(cur->version == 2u);
  BOOST_TEST(cur->fields == v2_fields);
  BOOST_TEST(cur->field_sources == json({{"email", "crm"}, {"plan", "stripe"}}));
  BOOST_TEST(cur->hash == content_hash(v2_fields.dump()));
  BOOST_TEST(cur->event_id == "");
  BOOST_TEST(records.get("customer", "c_old", 1500).value()->fields == v1_fields);
  BOOST_TEST(records.get("customer", "c_old", 1500).value()->event_id == "ev_1");
  auto h = records.history("customer", "c_old").value();
  BOOST_REQUIRE(h.size() == 2u);
  BOOST_REQUIRE(h[1].changes.size() == 1u);
  BOOST_TEST(h[1].changes[0].field == "plan");
  BOOST_TEST(records.find_by_identity("customer", "email", "ANA@example.com").value().value_or("") == "c_old");
  auto feed = decode_feed(db->get("rec/log/00000000000000000002").value().value(), "rec/log/2");
  BOOST_REQUIRE(feed.ok());
  BOOST_TEST(feed->id == "c_old");
  BOOST_TEST(feed->version == 2u);
  BOOST_TEST(feed->op == "put");

  // The same fields again: the hash of an old version compares with a new one.
  record_write same;
  same.type = "customer";
  same.id = "c_old";
  same.fields = {{"plan", "pro"}};
  same.source = "stripe";
  BOOST_TEST(!records.put(same).value().changed);
  // A change on top of the old versions is version 3 in the new format,
  // and both formats read back side by side.
  same.fields = {{"plan", "team"}};
  BOOST_TEST(records.put(same).value().version == 3u);
  h = records.history("customer", "c_old").value();
  BOOST_REQUIRE(h.size() == 3u);
  BOOST_TEST(h[2].rec.fields["plan"] == "team");
  BOOST_TEST(h[2].rec.fields["email"] == "ana@example.com");
  BOOST_TEST(h[2].rec.field_sources["email"] == "crm");
  BOOST_TEST(h[1].rec.valid_to_ms.value_or(0) == 3000);
  auto newest = decode_feed(db->get("rec/log/00000000000000000003").value().value(), "rec/log/3");
  BOOST_REQUIRE(newest.ok());
  BOOST_TEST(newest->version == 3u);
  BOOST_TEST(newest->type == "customer");
  // A fresh store (empty cache) reads the mixed history the same way.
  record_store reopened(*db, cfg->entities);
  BOOST_TEST(reopened.get("customer", "c_old").value()->version == 3u);
  BOOST_TEST(reopened.get("customer", "c_old").value()->hash == h[2].rec.hash);
}

// Format 2 versions are arrays like format 3, but their hash is BLAKE2b of
// the fields' JSON text, not their msgpack. Exact duplicates of such a head
// must stay no-ops (the write hashes the old way to compare), both when
// the head comes from the database and from the write cache, and a change
// on top of it writes format 3, after which duplicates are no-ops again.
BOOST_AUTO_TEST_CASE(values_written_in_format_2_still_decode_and_compare) {
  test::temp_dir dir;
  auto db = std::move(store::open(dir.path()).value());
  auto cfg = parse_memory_config(config_yaml, "test.yaml");
  BOOST_REQUIRE(cfg.ok());
  auto format_2 = [](const json& fields, const json& sources, std::int64_t from, const std::string& source,
                     const std::string& event, bool invalidated) {
    auto raw = content_hash_raw(fields.dump());
    json v = json::array({2, fields, sources, from, source, event, json::binary(std::vector<std::uint8_t>(raw.begin(), raw.end()))});
    if (invalidated) v.push_back(true);
    auto b = json::to_msgpack(v);
    return std::string(b.begin(), b.end());
  };
  auto feed = [](const std::string& id, int version, const std::string& op, std::int64_t at) {
    auto b = json::to_msgpack(json::array({"customer", id, version, op, at}));
    return std::string(b.begin(), b.end());
  };
  const json ana_1{{"email", "ana@example.com"}, {"plan", "free"}, {"seats", 3}};
  const json ana_2{{"email", "ana@example.com"}, {"plan", "pro"}, {"seats", 3}};
  const json bo_1{{"email", "bo@example.com"}, {"mrr", 12.5}, {"signed_up", "2026-11-01T00:00:00.000Z"}};
  BOOST_REQUIRE(db->write(puts({
      {"rec/cur/customer/c_ana", ""},
      {"rec/ver/customer/c_ana/0000000001", format_2(ana_1, json::object(), 1000, "crm", "ev_1", false)},
      {"rec/ver/customer/c_ana/0000000002", format_2(ana_2, {{"email", "crm"}}, 2000, "stripe", "", false)},
      {"rec/idx/customer/email/ana@example.com", "c_ana"},
      {"rec/cur/customer/c_bo", ""},
      {"rec/ver/customer/c_bo/0000000001", format_2(bo_1, json::object(), 1000, "crm", "", false)},
      {"rec/idx/customer/email/bo@example.com", "c_bo"},
      {"rec/cur/customer/c_gone", ""},
      {"rec/ver/customer/c_gone/0000000001", format_2({{"plan", "free"}}, json::object(), 1000, "crm", "", false)},
      {"rec/ver/customer/c_gone/0000000002", format_2(json::object(), json::object(), 1500, "gdpr", "", true)},
      {"rec/log/00000000000000000001", feed("c_ana", 1, "put", 1000)},
      {"rec/log/00000000000000000002", feed("c_ana", 2, "put", 2000)},
      {"rec/log/00000000000000000003", feed("c_bo", 1, "put", 1000)},
      {"rec/log/00000000000000000004", feed("c_gone", 1, "put", 1000)},
      {"rec/log/00000000000000000005", feed("c_gone", 2, "invalidate", 1500)},
  })).ok());

  std::int64_t now = 3000;
  record_store records(*db, cfg->entities, store_options{[&] { return now; }});
  BOOST_TEST(records.feed_seq() == 5u);
  auto ana = records.get("customer", "c_ana").value();
  BOOST_REQUIRE(ana.has_value());
  BOOST_TEST(ana->version == 2u);
  BOOST_TEST(ana->format == 2);
  BOOST_TEST(ana->fields == ana_2);
  BOOST_TEST(ana->field_sources == json({{"email", "crm"}, {"plan", "stripe"}, {"seats", "stripe"}}));
  BOOST_TEST(ana->hash == content_hash(ana_2.dump()));
  BOOST_TEST(records.get("customer", "c_ana", 1500).value()->event_id == "ev_1");
  BOOST_TEST(!records.get("customer", "c_gone").value().has_value());
  BOOST_TEST(records.head("customer", "c_gone").value()->invalidated);

  auto write = [&](const std::string& id, json fields) {
    record_write w;
    w.type = "customer";
    w.id = id;
    w.fields = std::move(fields);
    w.source = "stripe";
    return records.put(w).value();
  };
  // The same fields on an old head, read from the database: no new version,
  // and the head's own (old) hash comes back.
  auto same = write("c_ana", {{"plan", "pro"}});
  BOOST_TEST(!same.changed);
  BOOST_TEST(same.version == 2u);
  BOOST_TEST(same.hash == content_hash(ana_2.dump()));
  // Again, now that the old head sits in the write cache.
  BOOST_TEST(!write("c_ana", {{"plan", "pro"}, {"seats", 3}}).changed);
  // A float and a timestamp given in another form: the same content.
  BOOST_TEST(!write("c_bo", {{"mrr", 12.5}, {"signed_up", "2026-11-01T01:00:00+01:00"}}).changed);
  BOOST_TEST(records.head("customer", "c_bo").value()->version == 1u);

  // A change on top writes format 3; its duplicates are no-ops too.
  auto changed = write("c_ana", {{"plan", "team"}});
  BOOST_TEST(changed.changed);
  BOOST_TEST(changed.version == 3u);
  BOOST_TEST(changed.hash != content_hash(json({{"email", "ana@example.com"}, {"plan", "team"}, {"seats", 3}}).dump()));
  BOOST_TEST(records.head("customer", "c_ana").value()->format == 3);
  BOOST_TEST(!write("c_ana", {{"plan", "team"}}).changed);
  // A forgotten record written again starts over on top of the old tombstone.
  BOOST_TEST(write("c_gone", {{"plan", "free"}}).version == 3u);

  auto h = records.history("customer", "c_ana").value();
  BOOST_REQUIRE(h.size() == 3u);
  BOOST_TEST(h[2].rec.fields == json({{"email", "ana@example.com"}, {"plan", "team"}, {"seats", 3}}));
  BOOST_TEST(h[2].rec.field_sources["email"] == "crm");
  BOOST_REQUIRE(h[2].changes.size() == 1u);
  BOOST_TEST(h[2].changes[0].field == "plan");
  BOOST_TEST(h[1].rec.valid_to_ms.value_or(0) == 3000);
  BOOST_TEST(records.find_by_identity("customer", "email", "Ana@Example.com").value().value_or("") == "c_ana");

  // A fresh store (empty cache) reads the mixed history and compares the
  // format 3 head's hash the new way.
  record_store reopened(*db, cfg->entities, store_options{[&] { return now; }});
  BOOST_TEST(reopened.get("customer", "c_ana").value()->hash == changed.hash);
  record_write again;
  again.type = "customer";
  again.id = "c_ana";
  again.fields = {{"plan", "team"}, {"email", "ana@example.com"}};
  again.source = "crm";
  auto out = reopened.put(again).value();
  BOOST_TEST(!out.changed);
  BOOST_TEST(out.hash == changed.hash);
  BOOST_TEST(reopened.history("customer", "c_ana").value().size() == 3u);
  BOOST_TEST(reopened.feed_seq() == 7u);
}

// A version or feed entry that is neither layout is a damaged database:
// an io error naming the key, not a record of empty fields.
BOOST_FIXTURE_TEST_CASE(a_damaged_value_is_an_error_naming_its_key, records_fixture) {
  BOOST_REQUIRE(db->write(puts({{"rec/cur/customer/c_bad", ""}, {"rec/ver/customer/c_bad/0000000001", std::string("\x93\x07\x01\x02", 4)}})).ok());
  auto r = records->get("customer", "c_bad");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::io);
  BOOST_TEST(r.err().message.find("rec/ver/customer/c_bad/0000000001") != std::string::npos, r.err().message);
  auto f = decode_feed(std::string("\x92\x01\x02", 3), "rec/log/9");
  BOOST_REQUIRE(!f.ok());
  BOOST_TEST(f.err().message.find("rec/log/9") != std::string::npos, f.err().message);
}

// What records.forget and records.purge rely on: clear errors that write
// nothing, and feed entries that name the record (for the summaries) but
// never carry its field values.
BOOST_FIXTURE_TEST_CASE(forget_and_purge_name_what_is_wrong_and_log_no_values, records_fixture) {
  auto before = keys();
  auto unknown = records->invalidate("customer", "c_9", "keelctl");
  BOOST_REQUIRE(!unknown.ok());
  BOOST_TEST(unknown.err().code == errc::not_found);
  BOOST_TEST(unknown.err().message.find("no customer c_9 to forget") != std::string::npos, unknown.err().message);
  BOOST_TEST(records->invalidate("customer", "c/9", "keelctl").err().code == errc::bad_request);
  BOOST_TEST(records->purge("customer", "c/9").err().code == errc::bad_request);
  BOOST_TEST(records->purge("custmer", "c_9").err().message.find("unknown entity type 'custmer'") != std::string::npos);
  BOOST_TEST(keys() == before, boost::test_tools::per_element());

  BOOST_REQUIRE(put("c_1", {{"email", "a@x.io"}, {"plan", "pro"}}).ok());
  now += 1000;
  BOOST_REQUIRE(records->invalidate("customer", "c_1", "gdpr").ok());
  auto again = records->invalidate("customer", "c_1", "gdpr");
  BOOST_TEST(again.err().message.find("already forgotten (version 2)") != std::string::npos, again.err().message);
  BOOST_TEST(records->head("customer", "c_1").value()->invalidated);
  BOOST_TEST(records->head("customer", "c_1").value()->source == "gdpr");
  BOOST_REQUIRE(records->purge("customer", "c_1").value() == 2u);

  std::vector<feed_entry> feed;
  BOOST_REQUIRE(db->scan("rec/log/", [&](const std::string& k, const std::string& v) {
    auto e = decode_feed(v, k);
    BOOST_REQUIRE(e.ok());
    feed.push_back(*e);
    BOOST_TEST(v.find("a@x.io") == std::string::npos);
    BOOST_TEST(v.find("pro") == std::string::npos);
    return true;
  }).ok());
  BOOST_REQUIRE_EQUAL(feed.size(), 3u);
  BOOST_TEST(feed[1].op == "invalidate");
  BOOST_TEST(feed[1].version == 2u);
  BOOST_TEST(feed[2].op == "purge");
  BOOST_TEST(feed[2].versions == 2u);
  BOOST_TEST(feed[2].id == "c_1");
  BOOST_TEST(keys("rec/ver/").empty());
  BOOST_TEST(keys("rec/cur/").empty());
  BOOST_TEST(keys("rec/idx/").empty());

  // Versions past 127 are msgpack int64s in the feed and the key: both read back.
  for (int i = 0; i < 200; ++i) BOOST_REQUIRE(put("c_2", {{"seats", i}}).ok());
  std::string last_key, last_value;
  BOOST_REQUIRE(db->scan("rec/log/", [&](const std::string& k, const std::string& v) {
    last_key = k, last_value = v;
    return false;  // the newest entry is enough
  }, /*reverse=*/true).ok());
  BOOST_TEST(decode_feed(last_value, last_key).value().version == 200u);
  BOOST_TEST(records->get("customer", "c_2").value()->version == 200u);
  BOOST_TEST(record_store(*db, types).get("customer", "c_2").value()->fields["seats"] == 199);
  BOOST_REQUIRE(records->purge("customer", "c_2").ok());
  BOOST_REQUIRE(db->scan("rec/log/", [&](const std::string& k, const std::string& v) {
    BOOST_TEST(decode_feed(v, k).value().versions == 200u);
    return false;
  }, /*reverse=*/true).ok());
}

BOOST_AUTO_TEST_SUITE_END()
