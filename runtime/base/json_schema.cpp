#include "runtime/base/json_schema.hpp"

#include <mutex>
#include <unordered_set>

// Errors in a schema throw instead of aborting the process.
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace keel {

struct json_schema::impl {
  valijson::Schema schema;
};

json_schema::json_schema(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
json_schema::json_schema(json_schema&&) noexcept = default;
json_schema& json_schema::operator=(json_schema&&) noexcept = default;
json_schema::~json_schema() = default;

result<json_schema> json_schema::compile(const nlohmann::json& schema) {
  if (!schema.is_object() && !schema.is_boolean())
    return error{errc::bad_request, "a JSON Schema is an object (such as {\"type\": \"object\", ...}), not " +
                                        std::string(schema.type_name())};
  auto p = std::make_unique<impl>();
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter doc(schema);
    // No fetch function: a remote $ref throws, and is reported as such.
    parser.populateSchema(doc, p->schema);
  } catch (const std::exception& ex) {
    return error{errc::bad_request, std::string("not a usable JSON Schema: ") + ex.what()};
  }
  return json_schema(std::move(p));
}

status json_schema::check(const nlohmann::json& schema) {
  // Bounded: a node sees a handful of distinct schemas; the set is emptied
  // rather than grown if something feeds it many.
  constexpr std::size_t max_remembered = 1024;
  static std::mutex mu;
  static std::unordered_set<std::string> good;
  auto text = schema.dump();
  {
    std::lock_guard g(mu);
    if (good.count(text)) return ok_v;
  }
  auto c = compile(schema);
  if (!c) return c.err();
  std::lock_guard g(mu);
  if (good.size() >= max_remembered) good.clear();
  good.insert(std::move(text));
  return ok_v;
}

namespace {

std::string path_of(const std::vector<std::string>& context) {
  // valijson's context is ["<root>", "[name]", "[2]", ...].
  std::string out = "$";
  for (std::size_t i = 1; i < context.size(); ++i) {
    const auto& c = context[i];
    bool index = c.size() > 2 && c.front() == '[' && c.find_first_not_of("0123456789", 1) == c.size() - 1;
    if (!index && c.size() > 2 && c.front() == '[' && c.back() == ']') out += "." + c.substr(1, c.size() - 2);
    else out += c;
  }
  return out;
}

}  // namespace

status json_schema::validate(const nlohmann::json& value) const {
  valijson::Validator v(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter doc(value);
  if (v.validate(impl_->schema, doc, &results)) return ok_v;
  std::string all;
  valijson::ValidationResults::Error e;
  std::size_t n = 0;
  while (results.popError(e)) {
    // valijson reports each failing combinator and then its parts; the
    // leaf errors say what to fix, so the first few suffice.
    if (++n > 5) {
      all += "; ...";
      break;
    }
    all += (all.empty() ? "" : "; ") + path_of(e.context) + ": " + e.description;
  }
  return error{errc::bad_request, all};
}

}  // namespace keel
