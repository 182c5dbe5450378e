// keelctl's JSON arguments (tools/keelctl/json_argument.hpp): inline text
// as before, @FILE read whole, and every way a file can be wrong named with
// the file and what to do. (Standard input goes through the same code; the
// integration suite keelctl_large_arguments_test pipes it for real.)
#include <boost/test/unit_test.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"
#include "tools/keelctl/json_argument.hpp"

using namespace keel;
using keel::test::has;
using nlohmann::json;

namespace {

const ctl::json_argument_spec run_args_spec{"--args", "--args '{\"text\": \"hi\"}'"};

std::string write_json_arg(const test::temp_dir& dir, const std::string& name, const std::string& bytes) {
  std::ofstream(dir / name, std::ios::binary) << bytes;
  return dir / name;
}

std::string json_arg_error(const std::string& given, const ctl::json_argument_spec& spec = run_args_spec) {
  auto r = ctl::parse_json_argument(given, spec);
  BOOST_REQUIRE_MESSAGE(!r.ok(), given << " was accepted");
  BOOST_TEST(r.err().code == errc::bad_request);
  return r.err().message;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_argument_test)

BOOST_AUTO_TEST_CASE(inline_text_is_parsed_as_before) {
  BOOST_TEST(ctl::parse_json_argument(R"({"text": "hi"})", run_args_spec).value() == json({{"text", "hi"}}));
  BOOST_TEST(ctl::parse_json_argument("[1, 2]", run_args_spec).value() == json({1, 2}));
  BOOST_TEST(has(json_arg_error("{text"), "--args is not valid JSON"));
  BOOST_TEST(has(json_arg_error("{text"), "@FILE"));
  BOOST_TEST(has(json_arg_error(std::string(40, '[') + std::string(40, ']')), "nested deeper than 32 levels"));
  BOOST_TEST(has(json_arg_error("[1]", {"FIELDS", "'{\"plan\": \"pro\"}'", true}), "FIELDS must be a JSON object"));
  BOOST_TEST(has(json_arg_error("{plan: pro}", {"FIELDS", "'{\"plan\": \"pro\"}'", true}),
                 "FIELDS must be a JSON object; it is not valid JSON"));
}

BOOST_AUTO_TEST_CASE(a_file_is_read_whole_and_checked_like_inline_text) {
  test::temp_dir dir("keel-jsonarg");
  json big = {{"text", std::string(300 * 1024, 'x')}, {"n", 1}};  // more than one argv string may hold
  BOOST_TEST(ctl::parse_json_argument("@" + write_json_arg(dir, "big.json", big.dump()), run_args_spec).value() == big);
  // A UTF-8 byte-order mark (some editors write one) is not an error.
  BOOST_TEST(ctl::parse_json_argument("@" + write_json_arg(dir, "bom.json", "\xEF\xBB\xBF{\"a\": 1}"), run_args_spec).value() == json({{"a", 1}}));

  auto missing = json_arg_error("@" + (dir / "nope.json"));
  BOOST_TEST(has(missing, "cannot read " + (dir / "nope.json") + " for --args: No such file or directory"), missing);
  BOOST_TEST(has(missing, "check the path"), missing);

  auto latin1 = json_arg_error("@" + write_json_arg(dir, "latin1.json", "{\"name\": \"Jos\xE9\"}"));
  BOOST_TEST(has(latin1, "--args from " + (dir / "latin1.json") + " is not UTF-8 text (byte 0xe9 at position 14)"), latin1);
  BOOST_TEST(has(latin1, "iconv -f latin1 -t utf-8 " + (dir / "latin1.json")), latin1);

  auto not_json = json_arg_error("@" + write_json_arg(dir, "bad.json", "{name: 1}"));
  BOOST_TEST(has(not_json, "--args from " + (dir / "bad.json") + " is not valid JSON"), not_json);
  BOOST_TEST(has(not_json, "jq . " + (dir / "bad.json")), not_json);

  auto empty = json_arg_error("@" + write_json_arg(dir, "empty.json", ""));
  BOOST_TEST(has(empty, "is not valid JSON"), empty);

  auto deep = json_arg_error("@" + write_json_arg(dir, "deep.json", std::string(100000, '[') + std::string(100000, ']')));
  BOOST_TEST(has(deep, "--args from " + (dir / "deep.json") + " is nested deeper than 32 levels"), deep);

  auto array = json_arg_error("@" + write_json_arg(dir, "array.json", "[1]"), {"FIELDS", "'{\"plan\": \"pro\"}'", true});
  BOOST_TEST(has(array, "FIELDS from " + (dir / "array.json") + " must be a JSON object (it is array)"), array);

  auto dir_itself = json_arg_error("@" + dir.path());
  BOOST_TEST(has(dir_itself, "cannot read " + dir.path()), dir_itself);
}

BOOST_AUTO_TEST_SUITE_END()
