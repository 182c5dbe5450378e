// Templates and conditions in workflow definitions.
//
// Paths name values in a JSON context: `input.customer_id`,
// `steps.create_account.result.id`, `instance.id`, `step.id`. Missing
// paths are an error (never a silent empty string).
//
// Templates: a string that is exactly "{{ path }}" becomes the value at
// path, keeping its JSON type; "{{ path }}" inside a longer string is
// replaced by the value's text. Objects and arrays are rendered recursively.
//
// Conditions: comparisons (== != < <= > >=) of paths and literals (numbers,
// 'strings' or "strings", true, false, null), combined with && || ! and
// parentheses. A bare path is true when it exists and is not false/null/0/"".
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel::wf {

// Every path a template or condition refers to, e.g. {"input.amount",
// "steps.a.result"}; errors name the position of a syntax error.
result<std::set<std::string>> template_paths(const nlohmann::json& tmpl);
result<std::set<std::string>> condition_paths(const std::string& condition);

result<nlohmann::json> render(const nlohmann::json& tmpl, const nlohmann::json& context);
result<bool> evaluate(const std::string& condition, const nlohmann::json& context);

// True when a string anywhere in `j` contains "{{" (rendering would change it).
bool has_templates(const nlohmann::json& j);

// The value at a dotted path, or an error naming the first missing part.
result<nlohmann::json> lookup(const nlohmann::json& context, const std::string& path);

}  // namespace keel::wf
