// JSON Schema (draft 7) for the structured output of model steps, on
// valijson: a schema is checked once when a definition loads, and every
// answer is validated against it before it may become a step's result.
//
// Remote references ($ref to another document) are not fetched: a schema
// must be self-contained (no network at run time), and one that needs a
// remote document is refused at load.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel {

class json_schema {
 public:
  // Errors: bad_request naming what is wrong with `schema` (not an object,
  // an unknown type, a bad keyword value, a remote $ref).
  static result<json_schema> compile(const nlohmann::json& schema);
  // Whether compile(schema) would succeed, with the same error if not.
  // Schemas that compiled are remembered by their text (a bounded set), so
  // a definition checked on every turn of an agent step is compiled once.
  static status check(const nlohmann::json& schema);

  json_schema(json_schema&&) noexcept;
  json_schema& operator=(json_schema&&) noexcept;
  ~json_schema();

  // ok, or bad_request with every violation as "<path>: <what>" (path
  // "$" for the document, "$.items[2].name" inside), joined by "; ".
  status validate(const nlohmann::json& value) const;

 private:
  struct impl;
  explicit json_schema(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace keel
