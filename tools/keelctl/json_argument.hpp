// keelctl's JSON arguments (send MESSAGE, run --args, run-workflow --input,
// records put FIELDS, approve --args) as the user gives them: inline text,
// @FILE for the contents of a file, or - for standard input. A value larger
// than the OS lets one argument be (MAX_ARG_STRLEN, 128 KiB on Linux) can
// only come from a file or a pipe. Text from a file or stdin is held to the
// checks inline text gets: UTF-8, the nesting limit (runtime/base/json_text.hpp)
// and valid JSON, and each error names the file and says what to do.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel::ctl {

struct json_argument_spec {
  std::string name;         // how the user wrote it: "--args", "FIELDS", "the message"
  std::string example;      // a valid inline value, for the error messages
  bool object_only = false;  // only a JSON object will do
};

// The parsed value of `given`: "@PATH" reads PATH, "-" reads stdin to its
// end, anything else is the JSON text itself. Errors (bad_request): the file
// cannot be read, is not UTF-8, is nested deeper than max_json_depth, is not
// JSON, or is not an object when `spec.object_only`; each says what to do.
result<nlohmann::json> parse_json_argument(const std::string& given, const json_argument_spec& spec);

}  // namespace keel::ctl
