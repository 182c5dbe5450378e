// Canonicalization end to end over real LevelDB: config errors with lines,
// two sources merging into one customer by identity, per-field source
// priority, duplicates as no-ops, and the dead-letter round trip (an
// unmappable event is kept with its reason and replays after the fix).
#include <boost/test/unit_test.hpp>

#include "storage/memory/event_mapper.hpp"
#include "tests/support/temp_dir.hpp"

namespace keel::memory {
// Boost.Test prints the values of a failed comparison.
inline std::ostream& operator<<(std::ostream& o, ingest_outcome::kind k) { return o << to_string(k); }
}  // namespace keel::memory

using namespace keel;
using namespace keel::memory;
using nlohmann::json;

namespace {

const std::string entities = R"(
entities:
  customer:
    fields: {email: string, name: string, plan: string, mrr: number, stripe_id: string, crm_id: string}
    identity: [email, stripe_id, crm_id]
    merge:
      plan: {rule: source_priority, priority: [stripe, crm]}
)";

const std::string mappings = R"(
mappings:
  - source: crm
    event: contact.updated
    entity: customer
    fields:
      email: {from: data.email, convert: lower}
      name: data.full_name
      plan: data.plan
      crm_id: data.id
  - source: stripe
    event: [customer.created, customer.updated]
    entity: customer
    fields:
      email: {from: data.object.email, convert: lower}
      stripe_id: data.object.id
      plan: data.object.plan
      mrr: {from: data.object.mrr_cents, convert: cents}
)";

std::shared_ptr<const memory_config> config(const std::string& text) {
  auto c = parse_memory_config(text, "memory.yaml");
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.err().message));
  return std::make_shared<const memory_config>(std::move(*c));
}

struct canonical_fixture {
  test::temp_dir dir;
  std::unique_ptr<store> db = std::move(store::open(dir.path()).value());
  std::shared_ptr<const memory_config> cfg = config(entities + mappings);
  std::int64_t now = 1'000;
  record_store records{*db, cfg->entities, store_options{[this] { return ++now; }}};
  dead_letters dlq{*db};
  event_mapper canon{*db, records, dlq, cfg};

  ingest_outcome ingest(const json& event) {
    auto r = canon.ingest(event);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.err().message));
    return *r;
  }
  std::size_t key_count() {
    std::size_t n = 0;
    BOOST_REQUIRE(db->scan("", [&](const std::string& k, const std::string&) {
      n += k.rfind("meta/", 0) != 0;  // the store's own identity key
      return true;
    }).ok());
    return n;
  }
};

json crm_event(const std::string& id, const std::string& email, const std::string& plan) {
  return {{"source", "crm"}, {"type", "contact.updated"}, {"id", id},
          {"data", {{"id", "crm-7"}, {"email", email}, {"full_name", "Ana Lima"}, {"plan", plan}}}};
}
json stripe_event(const std::string& id, const std::string& email, const std::string& plan, json cents) {
  return {{"source", "stripe"}, {"type", "customer.updated"}, {"id", id},
          {"data", {{"object", {{"id", "cus_9"}, {"email", email}, {"plan", plan}, {"mrr_cents", cents}}}}}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(event_mapper_test)

BOOST_FIXTURE_TEST_CASE(two_sources_merge_into_one_customer, canonical_fixture) {
  auto a = ingest(crm_event("evt_c1", "Ana@Example.com", "free"));
  BOOST_TEST(a.what == ingest_outcome::kind::applied);
  BOOST_TEST(a.created);
  auto b = ingest(stripe_event("evt_s1", "ana@example.com", "pro", 4900));
  BOOST_TEST(b.what == ingest_outcome::kind::applied);
  BOOST_TEST(!b.created);
  BOOST_TEST(b.entity_id == a.entity_id);  // matched by email

  auto rec = records.get("customer", a.entity_id).value();
  BOOST_REQUIRE(rec.has_value());
  BOOST_TEST(rec->fields["email"] == "ana@example.com");
  BOOST_TEST(rec->fields["crm_id"] == "crm-7");
  BOOST_TEST(rec->fields["stripe_id"] == "cus_9");
  BOOST_TEST(rec->fields["mrr"] == 49.0);
  BOOST_TEST(rec->fields["plan"] == "pro");

  // The CRM may not overwrite stripe's plan (source priority) but still
  // owns the name (latest wins).
  auto mapped = crm_event("evt_c2", "ana@example.com", "free");
  mapped["data"]["full_name"] = "Ana M. Lima";
  BOOST_TEST(ingest(mapped).what == ingest_outcome::kind::applied);
  rec = records.get("customer", a.entity_id).value();
  BOOST_TEST(rec->fields["plan"] == "pro");
  BOOST_TEST(rec->fields["name"] == "Ana M. Lima");

  auto h = records.history("customer", a.entity_id).value();
  BOOST_REQUIRE(h.size() == 3u);
  BOOST_TEST(h[0].rec.source == "crm");
  BOOST_TEST(h[0].rec.event_id == "evt_c1");
  BOOST_TEST(h[1].rec.source == "stripe");
  BOOST_TEST(h[1].rec.event_id == "evt_s1");
  BOOST_TEST(h[2].rec.field_sources["plan"] == "stripe");
  BOOST_TEST(h[2].rec.field_sources["name"] == "crm");
}

BOOST_FIXTURE_TEST_CASE(a_second_identity_key_finds_the_record_too, canonical_fixture) {
  auto a = ingest(stripe_event("evt_1", "old@example.com", "pro", 100));
  // The email changed at stripe: the stripe id still identifies the customer.
  auto b = ingest(stripe_event("evt_2", "new@example.com", "pro", 100));
  BOOST_TEST(b.entity_id == a.entity_id);
  BOOST_TEST(records.get("customer", a.entity_id).value()->fields["email"] == "new@example.com");
}

BOOST_FIXTURE_TEST_CASE(exact_duplicates_are_no_ops, canonical_fixture) {
  auto first = stripe_event("evt_1", "a@x.io", "pro", 100);
  BOOST_TEST(ingest(first).what == ingest_outcome::kind::applied);
  auto keys = key_count();
  auto again = ingest(first);
  BOOST_TEST(again.what == ingest_outcome::kind::duplicate);
  BOOST_TEST(again.reason.find("event id already seen") != std::string::npos);
  auto relabelled = first;
  relabelled["id"] = "evt_1_retry";  // same content, new id
  auto dup = ingest(relabelled);
  BOOST_TEST(dup.what == ingest_outcome::kind::duplicate);
  BOOST_TEST(dup.reason.find("same content") != std::string::npos);
  BOOST_TEST(key_count() == keys);
  BOOST_TEST(records.history("customer", ingest(stripe_event("evt_2", "a@x.io", "team", 100)).entity_id).value().size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(unmappable_event_goes_to_the_dlq_and_replays_after_the_fix, canonical_fixture) {
  json refund{{"source", "stripe"}, {"type", "customer.deleted"}, {"id", "evt_9"},
              {"data", {{"object", {{"id", "cus_9"}, {"email", "b@x.io"}}}}}};
  auto out = ingest(refund);
  BOOST_TEST(out.what == ingest_outcome::kind::dead_lettered);
  BOOST_TEST(out.reason.find("no mapping for source 'stripe' event 'customer.deleted'") != std::string::npos, out.reason);
  BOOST_TEST(ingest(refund).what == ingest_outcome::kind::duplicate);  // redelivery does not pile up

  auto bad_cents = stripe_event("evt_10", "c@x.io", "pro", "lots");
  auto out2 = ingest(bad_cents);
  BOOST_TEST(out2.what == ingest_outcome::kind::dead_lettered);
  BOOST_TEST(out2.reason.find("customer.mrr from data.object.mrr_cents: \"lots\" is not a whole number of cents") != std::string::npos,
             out2.reason);

  auto listed = dlq.list(10).value();
  BOOST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(listed[0].event == refund);
  BOOST_TEST(listed[0].reason == out.reason);
  BOOST_TEST(records.find_by_identity("customer", "email", "b@x.io").value().has_value() == false);

  // Still broken: replay keeps it and counts the attempt.
  auto still = canon.replay(listed[0].id).value();
  BOOST_TEST(still.what == ingest_outcome::kind::dead_lettered);
  BOOST_TEST(dlq.show(listed[0].id)->attempts == 2u);

  // Fix the mapping (deleted events map like updates), replay everything.
  std::string fixed = entities + mappings;
  fixed.replace(fixed.find("[customer.created, customer.updated]"), 36, "[customer.created, customer.updated, customer.deleted]");
  canon.set_config(config(fixed));
  auto rep = canon.replay_all().value();
  BOOST_TEST(rep.applied == 1u);
  BOOST_TEST(rep.still_failing == 1u);  // "lots" is still not cents
  BOOST_TEST(dlq.count().value() == 1u);
  BOOST_TEST(dlq.show(listed[0].id).err().code == errc::not_found);
  auto id = records.find_by_identity("customer", "email", "b@x.io").value();
  BOOST_REQUIRE(id.has_value());
  BOOST_TEST(records.history("customer", *id).value()[0].rec.event_id == "evt_9");
}

BOOST_FIXTURE_TEST_CASE(dead_letter_ids_never_repeat_after_out_of_order_commits, canonical_fixture) {
  // Two threads stage ids 1 and 2; the batch with 2 commits first, then the
  // one with 1 writes the counter back to 1. A reopened store must still
  // hand out 3, not overwrite entry 2.
  write_batch first, second;
  auto a = dlq.stage_add(first, {{"source", "a"}}, "first", now);
  auto b = dlq.stage_add(second, {{"source", "b"}}, "second", now);
  BOOST_REQUIRE(db->write(second, false).ok());
  BOOST_REQUIRE(db->write(first, false).ok());
  BOOST_TEST(a == 1u);
  BOOST_TEST(b == 2u);
  dead_letters reopened{*db};
  write_batch third;
  BOOST_TEST(reopened.stage_add(third, {{"source", "c"}}, "third", now) == 3u);
  BOOST_REQUIRE(db->write(third, false).ok());
  auto kept = reopened.show(2);
  BOOST_REQUIRE(kept.ok());
  BOOST_TEST(kept->reason == "second");
}

BOOST_FIXTURE_TEST_CASE(malformed_events_are_refused_and_write_nothing, canonical_fixture) {
  auto before = key_count();
  for (const char* bad : {"{not json", "[1,2]", R"({"type": "x", "data": {}})", R"({"source": "crm", "data": {}})",
                          R"({"source": "crm", "type": "contact.updated", "id": 7})"}) {
    auto r = canon.ingest(std::string(bad));
    BOOST_REQUIRE(!r.ok());
    BOOST_TEST(r.err().code == errc::bad_request);
    BOOST_TEST(!r.err().message.empty());
  }
  BOOST_TEST(key_count() == before);
}

BOOST_AUTO_TEST_CASE(config_errors_name_the_line) {
  auto expect = [](const std::string& text, const std::string& says) {
    auto c = parse_memory_config(text, "memory.yaml");
    BOOST_REQUIRE(!c.ok());
    BOOST_TEST(c.err().code == errc::config);
    BOOST_TEST(c.err().message.find(says) != std::string::npos, c.err().message);
  };
  expect(entities + "mappings:\n  - source: crm\n    event: x\n    entity: custmer\n    fields: {email: data.e}\n",
         "memory.yaml:11: mappings[0].entity: unknown entity type 'custmer'; declared under entities: customer");
  expect(entities + "mappings:\n  - source: crm\n    event: x\n    entity: customer\n    fields: {emial: data.e}\n",
         "memory.yaml:12: mappings[0].fields.emial: entity type 'customer' has no field 'emial'");
  expect(entities + "mappings:\n  - source: crm\n    event: x\n    entity: customer\n    fields:\n      email: {from: a, convert: upper}\n",
         "memory.yaml:13: mappings[0].fields.email.convert: unknown conversion 'upper'");
  expect("entities:\n  customer:\n    fields: {email: text}\n", "memory.yaml:3: entities.customer.fields.email: unknown type 'text'");
  expect("entities:\n  customer:\n    fields: {email: string}\n    identity: [mail]\n", "identity key 'mail' of entity type 'customer' is not one of its fields");
  expect("entities: [\n", "memory.yaml:2: not valid YAML");
  expect("entitys: {}\n", "memory.yaml:1: entitys: unknown key (check the spelling; known here: entities, mappings, pruning)");
  expect("[]\n", "memory.yaml:1: (top level): must be a mapping");
  // Durations are the one grammar (runtime/base/duration.hpp), with its message.
  expect(entities + "pruning:\n  memory:\n    note: {ttl: 90days}\n",
         "pruning.memory.note.ttl: cannot read '90days' as a duration: use a number and a unit");
}

BOOST_AUTO_TEST_CASE(node_config_memory_section) {
  // The section as the node reads it: the same keys plus the service
  // settings, errors with the node config's lines, absent = no entities.
  std::string node_yaml = "node:\n  log_level: info\nmemory:\n  dimension: 384\n  checkpoint_every: 30s\n  sync: true\n" +
                          std::string("  entities:\n    customer:\n      fields: {email: string}\n      identity: [email]\n");
  auto c = parse_memory_section(node_yaml, "node.yaml");
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.err().message));
  BOOST_TEST(c->service.dimension == 384u);
  BOOST_TEST(c->service.checkpoint_every_ms == 30'000);
  BOOST_TEST(c->service.prune_every_ms == 3'600'000);  // default
  BOOST_TEST(c->service.sync);
  BOOST_TEST(c->entities->find("customer") != nullptr);

  auto none = parse_memory_section("node:\n  log_level: info\n", "node.yaml");
  BOOST_REQUIRE(none.ok());
  BOOST_TEST(none->entities->type_names().empty());

  auto bad = parse_memory_section("node: {}\nmemory:\n  dimension: 8\n", "node.yaml");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.err().message.find("node.yaml:3: memory.dimension: must be a whole number from 32 to 4096") != std::string::npos,
             bad.err().message);
  auto typo = parse_memory_section("memory:\n  checkpoint: 1m\n", "node.yaml");
  BOOST_REQUIRE(!typo.ok());
  BOOST_TEST(typo.err().message.find("node.yaml:2: memory.checkpoint: unknown key") != std::string::npos, typo.err().message);
  auto short_interval = parse_memory_section("memory:\n  prune_every: 500ms\n", "node.yaml");
  BOOST_REQUIRE(!short_interval.ok());
  BOOST_TEST(short_interval.err().message.find("node.yaml:2: memory.prune_every: must be at least 1s") != std::string::npos,
             short_interval.err().message);
  // The one duration grammar: fractions, weeks and bare milliseconds too.
  auto grammar = parse_memory_section(
      "memory:\n  checkpoint_every: 1.5m\n  prune_every: 2000\n  pruning:\n    memory: {note: {ttl: 2w}}\n", "node.yaml");
  BOOST_REQUIRE_MESSAGE(grammar.ok(), (grammar.ok() ? std::string() : grammar.err().message));
  BOOST_TEST(grammar->service.checkpoint_every_ms == 90'000);
  BOOST_TEST(grammar->service.prune_every_ms == 2'000);
  BOOST_TEST(*grammar->pruning.memory.at("note").ttl_ms == 14 * 86'400'000LL);
  // Synonyms: WordNet's default directory, another one, or off.
  BOOST_TEST(c->service.synonyms == "/usr/share/wordnet");
  BOOST_TEST(parse_memory_section("memory:\n  synonyms: off\n", "node.yaml")->service.synonyms.empty());
  BOOST_TEST(parse_memory_section("memory:\n  synonyms: /opt/wn\n", "node.yaml")->service.synonyms == "/opt/wn");
  auto no_dir = parse_memory_section("memory:\n  synonyms: ''\n", "node.yaml");
  BOOST_REQUIRE(!no_dir.ok());
  BOOST_TEST(no_dir.err().message.find("node.yaml:2: memory.synonyms: must be WordNet's data directory") != std::string::npos,
             no_dir.err().message);
  // Glossaries: the built-in one by default, files beside it, or none.
  BOOST_TEST(c->service.glossary == std::vector<std::string>{"builtin"});
  BOOST_TEST(parse_memory_section("memory:\n  glossary: off\n", "node.yaml")->service.glossary.empty());
  auto both = parse_memory_section("memory:\n  glossary: [builtin, /etc/keel/glossary.txt]\n", "node.yaml");
  BOOST_REQUIRE(both.ok());
  BOOST_TEST(both->service.glossary == (std::vector<std::string>{"builtin", "/etc/keel/glossary.txt"}));
  for (const char* bad : {"memory:\n  glossary: builtin\n", "memory:\n  glossary: [glossary.txt]\n"}) {
    auto wrong = parse_memory_section(bad, "node.yaml");
    BOOST_REQUIRE(!wrong.ok());
    BOOST_TEST(wrong.err().message.find("node.yaml:2: memory.glossary: must be a list of glossaries") != std::string::npos,
               wrong.err().message);
  }
  // A plain memory config does not take the node-only keys.
  BOOST_TEST(!parse_memory_config("dimension: 256\n", "memory.yaml").ok());
}

BOOST_AUTO_TEST_SUITE_END()
