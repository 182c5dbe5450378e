// The files connector on real files: CSV and JSONL with a mapping,
// incremental by offset and by cursor column, renamed columns going to the
// dead-letter store with the reason, and a crash (SIGKILL of a real process
// between two commits) resuming with no lost and no duplicated record.
#include <boost/test/unit_test.hpp>

#include "adapters/connectors/connector_config.hpp"
#include "adapters/connectors/file_connector.hpp"
#include "tests/adapters/connectors/connector_fixture.hpp"

using namespace keel;
using namespace keel::connectors;
using keel::test::connector_env;

namespace {

record_mapping crm_mapping() {
  auto m = parse_mapping(nlohmann::json::parse(R"({"type": "crm.contact", "id": "Customer ID", "occurred_at": "Updated At?",
       "fields": {"email": "Email", "name": "Full Name", "plan": "Plan?"}})"), "test");
  BOOST_REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.err().message));
  return m.value();
}

file_source csv_source(const connector_env& env, std::size_t batch = 500) {
  file_source s;
  s.name = "crm_csv";
  s.path = env.dir / "crm.csv";
  s.batch = batch;
  s.mapping = crm_mapping();
  return s;
}

std::string rows(int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i)
    out += "C" + std::to_string(i) + ",user" + std::to_string(i) + "@example.com,\"User, " + std::to_string(i) +
           "\",pro,2026-11-0" + std::to_string(1 + i % 9) + "T10:00:00Z\n";
  return out;
}
const std::string csv_header = "Customer ID,Email,Full Name,Plan,Updated At\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(file_connector_test)

BOOST_AUTO_TEST_CASE(mapping_config_errors_name_the_key) {
  auto bad = parse_mapping(nlohmann::json::parse(R"({"type": "x", "fields": {"a": "A"}})"), "connectors.crm");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.err().message.find("connectors.crm: id is required") != std::string::npos);
  BOOST_TEST(!parse_mapping(nlohmann::json::parse(R"({"id": "x", "fields": {"a": "A"}})"), "c").ok());  // no type
  BOOST_TEST(!parse_mapping(nlohmann::json::parse(R"({"type": "t", "id": "x", "fieldz": {}})"), "c").ok());
}

BOOST_AUTO_TEST_CASE(csv_import_then_only_appended_rows) {
  connector_env env;
  env.write_file("crm.csv", csv_header + rows(0, 5));
  auto c = make_file_connector(csv_source(env), *env.inbox, *env.db);
  auto r = c->sync(false);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->events_out == 5u);
  auto events = env.events();
  BOOST_REQUIRE(events.size() == 5u);
  BOOST_TEST(events[1]["source"] == "crm_csv");
  BOOST_TEST(events[1]["type"] == "crm.contact");
  BOOST_TEST(events[1]["data"]["email"] == "user1@example.com");
  BOOST_TEST(events[1]["data"]["name"] == "User, 1");
  BOOST_TEST(events[1]["occurred_at"] == "2026-11-02T10:00:00.000Z");
  BOOST_TEST(events[1]["id"].get<std::string>().rfind("C1:", 0) == 0);

  env.write_file("crm.csv", rows(5, 8), true);
  auto again = c->sync(false);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->records_in == 3u);  // only the appended rows were read
  BOOST_TEST(env.events().size() == 8u);
  auto st = c->state();
  BOOST_TEST(st->records_in == 8u);
  BOOST_TEST(st->events_out == 8u);
  BOOST_TEST(st->offset == (csv_header + rows(0, 8)).size());
  BOOST_TEST(st->status == "idle");

  // --full re-reads everything: unchanged rows are duplicates, an edited row is new.
  auto text = csv_header + rows(0, 8);
  text.replace(text.find("user3@"), 6, "USER3@");
  env.write_file("crm.csv", text);
  auto full = c->sync(true);
  BOOST_REQUIRE(full.ok());
  BOOST_TEST(full->records_in == 8u);
  BOOST_TEST(full->duplicates == 7u);
  BOOST_TEST(full->events_out == 1u);
  keel::test::unique_ids(env.events());
}

BOOST_AUTO_TEST_CASE(renamed_column_is_dead_lettered_with_the_reason) {
  connector_env env;
  env.write_file("crm.csv", "Customer ID,E-mail,Full Name,Plan,Updated At\nC1,a@x.com,Ann,pro,2026-11-01T00:00:00Z\n"
                            "C2,b@x.com,Bob\n");
  auto c = make_file_connector(csv_source(env), *env.inbox, *env.db);
  auto r = c->sync(false);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->events_out == 0u);
  BOOST_TEST(r->dead_lettered == 2u);
  BOOST_TEST(env.events().empty());
  auto dl = env.dlq->list(10);
  BOOST_REQUIRE(dl.ok());
  BOOST_REQUIRE(dl->size() == 2u);
  BOOST_TEST(dl->at(0).reason.find("'Email'") != std::string::npos);
  BOOST_TEST(dl->at(0).reason.find("E-mail") != std::string::npos);  // what the record has instead
  BOOST_TEST(dl->at(0).reason.find("renamed") != std::string::npos);
  BOOST_TEST(dl->at(0).event["source"] == "crm_csv");
  BOOST_TEST(dl->at(1).reason.find("3 fields, the header has 5") != std::string::npos);
  BOOST_TEST(c->state()->dead_lettered == 2u);
}

BOOST_AUTO_TEST_CASE(text_that_is_not_utf8_is_refused_with_the_reason_or_read_as_declared) {
  // An Excel export in Windows-1252: "José García", and an en dash (0x96).
  connector_env env;
  const std::string latin = csv_header + "C1,a@x.com,Jos\xE9 Garc\xED" "a,pro \x96 annual,2026-11-01T00:00:00Z\n" +
                            "C2,b@x.com,Bob,pro,2026-11-01T00:00:00Z\n";
  env.write_file("crm.csv", latin);
  auto c = make_file_connector(csv_source(env), *env.inbox, *env.db);
  auto r = c->sync(false);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->events_out == 1u);  // C2 is fine
  BOOST_TEST(r->dead_lettered == 1u);
  auto dl = env.dlq->list(10);
  BOOST_REQUIRE(dl.ok());
  BOOST_REQUIRE(dl->size() == 1u);
  const auto& reason = dl->at(0).reason;
  BOOST_TEST(reason.find("line 2, column 'Full Name' is not UTF-8 text (byte 0xe9 at position 4") != std::string::npos,
             reason);
  BOOST_TEST(reason.find("encoding: windows-1252") != std::string::npos, reason);
  // The dead letter keeps the record, repaired so it can be stored and shown.
  BOOST_TEST(dl->at(0).event["data"]["Full Name"] == "Jos\xEF\xBF\xBD Garc\xEF\xBF\xBD" "a");
  BOOST_TEST(dl->at(0).event.dump().size() > 0u);

  // Declared: the same file reads as the text it is.
  connector_env env2;
  env2.write_file("crm.csv", latin);
  auto src = csv_source(env2);
  src.windows_1252 = true;
  auto c2 = make_file_connector(src, *env2.inbox, *env2.db);
  auto r2 = c2->sync(false);
  BOOST_REQUIRE(r2.ok());
  BOOST_TEST(r2->events_out == 2u);
  auto events = env2.events();
  BOOST_REQUIRE(events.size() == 2u);
  BOOST_TEST(events[0]["data"]["name"] == "Jos\xC3\xA9 Garc\xC3\xAD" "a");
  BOOST_TEST(events[0]["data"]["plan"] == "pro \xE2\x80\x93 annual");
  // Appending resumes at the converted offset: only the new row is read.
  env2.write_file("crm.csv", "C3,c@x.com,Zo\xEB,pro,2026-11-02T00:00:00Z\n", true);
  auto r3 = c2->sync(false);
  BOOST_REQUIRE(r3.ok());
  BOOST_TEST(r3->records_in == 1u);
  BOOST_TEST(env2.events().back()["data"]["name"] == "Zo\xC3\xAB");

  // A header that is not UTF-8 fails the sync and says what to do; nothing is stored.
  connector_env env3;
  env3.write_file("crm.csv", "Customer ID,E\xF1" "ail\nC1,x\n");
  auto c3 = make_file_connector(csv_source(env3), *env3.inbox, *env3.db);
  auto r4 = c3->sync(false);
  BOOST_REQUIRE(!r4.ok());
  BOOST_TEST(r4.err().message.find("header line") != std::string::npos, r4.err().message);
  BOOST_TEST(r4.err().message.find("save the file as UTF-8") != std::string::npos, r4.err().message);
  BOOST_TEST(env3.events().empty());
}

BOOST_AUTO_TEST_CASE(encoding_is_utf8_or_windows_1252_and_anything_else_is_a_config_error) {
  auto yaml = [](const std::string& enc) {
    return "connectors:\n  - name: crm\n    kind: files\n    path: x.csv\n    encoding: " + enc +
           "\n    mapping: {type: t, id: id, fields: {a: a}}\n";
  };
  for (auto [enc, latin] : {std::pair{"utf-8", false}, {"UTF8", false}, {"Latin1", true}, {"windows-1252", true},
                            {"iso-8859-1", true}, {"cp1252", true}}) {
    auto c = parse_connectors(yaml(enc), "node.yaml");
    BOOST_REQUIRE_MESSAGE(c.ok(), enc << ": " << (c.ok() ? "" : c.err().message));
    BOOST_REQUIRE(c->files.size() == 1u);
    BOOST_TEST(c->files[0].windows_1252 == latin, enc);
  }
  auto bad = parse_connectors(yaml("ebcdic"), "node.yaml");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.err().message.find("node.yaml:") != std::string::npos, bad.err().message);
  BOOST_TEST(bad.err().message.find("must be utf-8 or windows-1252") != std::string::npos, bad.err().message);
}

BOOST_AUTO_TEST_CASE(jsonl_lines_that_are_not_utf8_are_dead_lettered_whole_characters_kept) {
  connector_env env;
  // A broken line longer than the 4096 bytes kept of it, with two-byte
  // characters across the cut, and a line with a Latin-1 byte.
  std::string long_line = "{\"id\": ";
  while (long_line.size() < 5000) long_line += "\xC3\xA9";
  env.write_file("events.jsonl", long_line + "\n{\"id\": \"Jos\xE9\"}\n{\"Customer ID\": \"C9\", \"Email\": \"z@x\", "
                                 "\"Full Name\": \"Z\"}\n{\"a\": " + std::string(5000, '[') + std::string(5000, ']') + "}\n");
  file_source s;
  s.name = "events";
  s.path = env.dir / "events.jsonl";
  s.format = "jsonl";
  s.mapping = crm_mapping();
  auto c = make_file_connector(s, *env.inbox, *env.db);
  auto r = c->sync(false);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->events_out == 1u);
  BOOST_TEST(r->dead_lettered == 3u);
  auto dl = env.dlq->list(10);
  BOOST_REQUIRE(dl.ok());
  BOOST_REQUIRE(dl->size() == 3u);
  BOOST_TEST(dl->at(2).reason.find("line 4 is nested deeper than 32 levels") != std::string::npos, dl->at(2).reason);
  BOOST_TEST(dl->at(0).reason.find("line 1 is not a JSON object") != std::string::npos, dl->at(0).reason);
  auto kept = dl->at(0).event["data"]["line"].get<std::string>();
  BOOST_TEST(kept.size() <= 4096u);
  BOOST_TEST(kept.size() >= 4094u);
  BOOST_TEST(kept.find("\xEF\xBF\xBD") == std::string::npos);  // cut between characters, not inside one
  BOOST_TEST(dl->at(1).reason.find("line 2 is not UTF-8 text (byte 0xe9") != std::string::npos, dl->at(1).reason);
}

BOOST_AUTO_TEST_CASE(cursor_column_skips_older_records) {
  connector_env env;
  env.write_file("crm.csv", csv_header + "C1,a@x.com,A,,2026-11-01T00:00:00Z\nC2,b@x.com,B,,2026-11-03T00:00:00Z\n");
  auto src = csv_source(env);
  src.incremental = "cursor";
  src.cursor_field = "Updated At";
  auto c = make_file_connector(src, *env.inbox, *env.db);
  BOOST_REQUIRE(c->sync(false).ok());
  BOOST_TEST(c->state()->cursor == "2026-11-03T00:00:00Z");
  // A new export: one old row edited (older than the cursor: skipped), one newer row.
  env.write_file("crm.csv", csv_header + "C1,changed@x.com,A,,2026-11-02T00:00:00Z\nC2,b@x.com,B,,2026-11-03T00:00:00Z\n"
                                     "C3,c@x.com,C,,2026-11-04T00:00:00Z\n");
  auto r = c->sync(false);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->events_out == 1u);  // C3; C2 equals the cursor and deduplicates
  BOOST_TEST(r->duplicates == 1u);
  BOOST_TEST(env.events().size() == 3u);
  BOOST_TEST(c->state()->cursor == "2026-11-04T00:00:00Z");
  BOOST_TEST(compare_cursor("9", "10") < 0);  // numbers compare as numbers
}

BOOST_AUTO_TEST_CASE(jsonl_leaves_a_half_written_last_line_for_later) {
  connector_env env;
  env.write_file("crm.jsonl", R"({"id": "a1", "email": "a@x.com", "name": "A"})" "\n"
                              "not json\n"
                              R"({"id": "a2", "email": "b@x.com", "na)");
  file_source s;
  s.name = "crm_jsonl";
  s.path = env.dir / "crm.jsonl";
  s.format = "jsonl";
  s.mapping = parse_mapping(nlohmann::json::parse(R"({"type": "crm.contact", "id": "id", "fields": {"email": "email", "name": "name"}})"), "t").value();
  auto c = make_file_connector(s, *env.inbox, *env.db);
  auto r = c->sync(false);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->events_out == 1u);
  BOOST_TEST(r->dead_lettered == 1u);  // "not json", with its line number
  BOOST_TEST(env.dlq->list(10)->at(0).reason.find("line 2") != std::string::npos);
  env.write_file("crm.jsonl", R"(me": "B"})" "\n", true);
  auto r2 = c->sync(false);
  BOOST_REQUIRE(r2.ok());
  BOOST_TEST(r2->events_out == 1u);
  BOOST_TEST(env.events().at(1)["data"]["name"] == "B");
}

BOOST_AUTO_TEST_CASE(sigkill_between_commits_resumes_without_loss_or_duplicates) {
  connector_env env;
  const int total = 1000;
  env.write_file("crm.csv", csv_header + rows(0, total));
  auto src = csv_source(env, 64);
  env.close();
  // A real process imports and is SIGKILLed right after its third commit.
  int how = keel::test::run_in_child([&] {
    env.open();
    auto c = make_file_connector(src, *env.inbox, *env.db);
    c->after_commit = [](std::uint64_t n) {
      if (n == 3) ::raise(SIGKILL);
    };
    (void)c->sync(false);
  });
  BOOST_REQUIRE(how == SIGKILL);
  env.open();
  BOOST_TEST(env.events().size() == 3u * 64u);  // exactly the committed chunks
  auto c = make_file_connector(src, *env.inbox, *env.db);
  BOOST_TEST(c->state()->records_in == 3u * 64u);
  auto r = c->sync(false);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->records_in == total - 3u * 64u);
  BOOST_TEST(r->duplicates == 0u);
  auto events = env.events();
  BOOST_TEST(events.size() == static_cast<std::size_t>(total));
  auto ids = keel::test::unique_ids(events);
  for (int i = 0; i < total; ++i) {
    auto it = ids.lower_bound("C" + std::to_string(i) + ":");
    BOOST_TEST_INFO("record C" << i);
    BOOST_TEST((it != ids.end() && it->rfind("C" + std::to_string(i) + ":", 0) == 0));
  }
  auto st = c->state();
  BOOST_TEST(st->records_in == static_cast<std::uint64_t>(total));
  BOOST_TEST(st->events_out == static_cast<std::uint64_t>(total));
}

BOOST_AUTO_TEST_SUITE_END()
