#include "runtime/base/json_schema.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

BOOST_AUTO_TEST_SUITE(json_schema_test)

using keel::json_schema;
using nlohmann::json;

BOOST_AUTO_TEST_CASE(a_valid_value_passes_and_a_violation_names_its_path) {
  auto s = json_schema::compile(json::parse(R"({"type": "object", "required": ["order_id", "amount"],
      "properties": {"order_id": {"type": "string"}, "amount": {"type": "number", "minimum": 0},
                     "items": {"type": "array", "items": {"type": "string"}}},
      "additionalProperties": false})"));
  BOOST_REQUIRE(s.ok());
  BOOST_TEST(s->validate(json{{"order_id", "42"}, {"amount", 12.5}}).ok());
  auto bad = s->validate(json{{"order_id", 42}, {"amount", -1}});
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.err().code == keel::errc::bad_request);
  BOOST_TEST(bad.err().message.find("$.order_id") != std::string::npos, bad.err().message);
  BOOST_TEST(bad.err().message.find("$.amount") != std::string::npos, bad.err().message);
  auto nested = s->validate(json{{"order_id", "1"}, {"amount", 1}, {"items", {"a", 2}}});
  BOOST_REQUIRE(!nested.ok());
  BOOST_TEST(nested.err().message.find("$.items[1]") != std::string::npos, nested.err().message);
  auto extra = s->validate(json{{"order_id", "1"}, {"amount", 1}, {"note", "x"}});
  BOOST_TEST(!extra.ok());
  auto missing = s->validate(json{{"order_id", "1"}});
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.err().message.find("amount") != std::string::npos, missing.err().message);
}

BOOST_AUTO_TEST_CASE(what_is_not_a_schema_is_refused_when_compiled) {
  BOOST_TEST(!json_schema::compile(json("object")).ok());
  BOOST_TEST(!json_schema::compile(json::array()).ok());
  BOOST_TEST(!json_schema::compile(json{{"type", "objekt"}}).ok());
  BOOST_TEST(!json_schema::compile(json{{"minimum", "zero"}}).ok());
  auto remote = json_schema::compile(json{{"$ref", "http://example.com/schema.json"}});
  BOOST_TEST(!remote.ok());
}

// The draft 7 keywords structured output relies on, checked against the
// official JSON-Schema-Test-Suite (Debian's json-schema-test-suite).
BOOST_AUTO_TEST_CASE(the_official_draft7_suite_passes_for_the_keywords_in_use) {
  const std::filesystem::path dir = "/usr/share/json-schema-test-suite/tests/draft7";
  BOOST_REQUIRE_MESSAGE(std::filesystem::is_directory(dir),
                        "the JSON-Schema-Test-Suite is missing: tools/setup.sh --with-test-tools installs it");
  std::size_t cases = 0;
  for (const char* name : {"type", "properties", "required", "enum", "const", "items", "additionalProperties",
                           "minimum", "maximum", "minLength", "maxLength", "pattern", "minItems", "maxItems",
                           "uniqueItems", "allOf", "anyOf", "oneOf", "not", "default", "boolean_schema"}) {
    std::ifstream in(dir / (std::string(name) + ".json"));
    BOOST_REQUIRE_MESSAGE(in.good(), name);
    for (const auto& group : json::parse(in)) {
      auto s = json_schema::compile(group["schema"]);
      BOOST_REQUIRE_MESSAGE(s.ok(), std::string(name) + ": " + group["description"].get<std::string>());
      for (const auto& t : group["tests"]) {
        bool valid = s->validate(t["data"]).ok();
        BOOST_CHECK_MESSAGE(valid == t["valid"].get<bool>(), std::string(name) + ": " +
                                                                 group["description"].get<std::string>() + " / " +
                                                                 t["description"].get<std::string>());
        ++cases;
      }
    }
  }
  BOOST_TEST(cases > 250u);
}

BOOST_AUTO_TEST_SUITE_END()
