// Reading the memory ops' arguments (runtime/memory/op_args.hpp): what each
// reader accepts, and that each refusal names the argument and what it must
// be. The record readers run on a real memory_service (its declared types).
#include <boost/test/unit_test.hpp>

#include "runtime/memory/op_args.hpp"
#include "tests/runtime/memory/memory_op_fixture.hpp"

using namespace keel;
using namespace keel::test;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(op_args_test)

BOOST_AUTO_TEST_CASE(need_text_wants_a_non_empty_string) {
  BOOST_TEST(*memory_op::need_text({{"type", "customer"}}, "type", "the type") == "customer");
  auto missing = memory_op::need_text(json::object(), "type", "the entity type");
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.err().code == errc::bad_request);
  BOOST_TEST(missing.err().message == "missing \"type\": the entity type");
  BOOST_TEST(memory_op::need_text({{"type", nullptr}}, "type", "x").err().message == "missing \"type\": x");
  BOOST_TEST(memory_op::need_text({{"type", ""}}, "type", "x").err().message == "\"type\" must be a non-empty string: x");
  BOOST_TEST(memory_op::need_text({{"type", 3}}, "type", "x").err().message == "\"type\" must be a non-empty string: x");
}

BOOST_AUTO_TEST_CASE(opt_text_is_empty_when_absent) {
  BOOST_TEST(*memory_op::opt_text(json::object(), "source") == "");
  BOOST_TEST(*memory_op::opt_text({{"source", nullptr}}, "source") == "");
  BOOST_TEST(*memory_op::opt_text({{"source", "crm"}}, "source") == "crm");
  BOOST_TEST(memory_op::opt_text({{"source", true}}, "source").err().message == "\"source\" must be a string, got boolean");
}

BOOST_AUTO_TEST_CASE(opt_int_takes_whole_numbers_in_range) {
  BOOST_TEST(!memory_op::opt_int(json::object(), "k", 1, 10)->has_value());
  BOOST_TEST(**memory_op::opt_int({{"k", 10}}, "k", 1, 10) == 10);
  BOOST_TEST(**memory_op::opt_int({{"k", 1}}, "k", 1, 10) == 1);
  BOOST_TEST(memory_op::opt_int({{"k", 11}}, "k", 1, 10).err().message == "\"k\" must be a whole number from 1 to 10, got 11");
  BOOST_TEST(memory_op::opt_int({{"k", 0}}, "k", 1, 10).err().message == "\"k\" must be a whole number from 1 to 10, got 0");
  BOOST_TEST(memory_op::opt_int({{"k", 2.0}}, "k", 1, 10).err().message == "\"k\" must be a whole number from 1 to 10, got 2.0");
  BOOST_TEST(memory_op::opt_int({{"k", "2"}}, "k", 1, 10).err().message == "\"k\" must be a whole number from 1 to 10, got \"2\"");
  BOOST_TEST(!memory_op::opt_int({{"k", std::numeric_limits<std::uint64_t>::max()}}, "k", 0, INT64_MAX).ok());
  BOOST_TEST(**memory_op::opt_int({{"k", INT64_MAX}}, "k", 0, INT64_MAX) == INT64_MAX);
}

BOOST_AUTO_TEST_CASE(opt_list_takes_a_string_or_a_list_of_strings) {
  BOOST_TEST(memory_op::opt_list(json::object(), "kinds")->empty());
  BOOST_TEST(*memory_op::opt_list({{"kinds", "note"}}, "kinds") == std::vector<std::string>{"note"});
  BOOST_TEST(*memory_op::opt_list({{"kinds", {"note", "fact"}}}, "kinds") == (std::vector<std::string>{"note", "fact"}));
  BOOST_TEST(memory_op::opt_list({{"kinds", 1}}, "kinds").err().message == "\"kinds\" must be a string or a list of strings");
  BOOST_TEST(memory_op::opt_list({{"kinds", {"note", 1}}}, "kinds").err().message == "\"kinds\" must be a list of strings");
}

BOOST_AUTO_TEST_CASE(field_text_and_lower_are_how_searches_compare) {
  BOOST_TEST(memory_op::field_text("Ana") == "Ana");
  BOOST_TEST(memory_op::field_text(42) == "42");
  BOOST_TEST(memory_op::field_text(true) == "true");
  BOOST_TEST(memory_op::lower("Ana@Example.COM") == "ana@example.com");
}

BOOST_FIXTURE_TEST_CASE(need_record_wants_a_declared_type_and_an_id, memory_op_fixture) {
  auto record = [&](const json& args) { return on_worker<result<memory_op::record_ref>>([&] { return memory_op::need_record(*mem, args); }); };
  auto ref = record({{"type", "customer"}, {"id", "c_1"}});
  BOOST_REQUIRE(ref.ok());
  BOOST_TEST(ref->type == "customer");
  BOOST_TEST(ref->id == "c_1");
  auto unknown = record({{"type", "planet"}, {"id", "p_1"}});
  BOOST_REQUIRE(!unknown.ok());
  BOOST_TEST(unknown.err().code == errc::bad_request);
  BOOST_TEST(has(unknown.err().message, "unknown entity type 'planet'; declared types: customer, invoice"));
  BOOST_TEST(has(unknown.err().message, "(entity types are declared under memory.entities in the node config)"));
  BOOST_TEST(record({{"type", "customer"}}).err().message == "missing \"id\": the record id, e.g. c_42");
  BOOST_TEST(on_worker<bool>([&] { return memory_op::known_type(*mem, "invoice").ok(); }));
}

BOOST_AUTO_TEST_SUITE_END()
