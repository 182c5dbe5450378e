// Secret references. A value "secret://NAME" stands for the vault's secret
// NAME, but only as a whole string and only where the operator wrote it: a
// definition's own argument templates, the args of `keelctl run`, the node
// config. A value that arrives from outside (an event, a canonical record,
// a model answer, an earlier step's result) is text, whatever it says:
// otherwise a webhook could name a secret and have a step send it out.
// secret_ref_pointers() marks where in a template the operator wrote one,
// once, when the definition is loaded; the resolver looks only there.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace keel {

inline constexpr std::string_view secret_scheme = "secret://";

// Secret names are 1..128 of [A-Za-z0-9_.-].
bool valid_secret_name(std::string_view name);

// "secret://NAME" -> NAME; empty when `ref` is not a secret reference (also
// when NAME is not a valid name: "secret://x is the header" is text).
std::string secret_ref_name(std::string_view ref);

// JSON pointers ("/json/token") of the strings in `tmpl` that are a secret
// reference as written, i.e. not produced by a "{{ ... }}" template. Empty
// for the common template that names no secret.
std::vector<std::string> secret_ref_pointers(const nlohmann::json& tmpl);

}  // namespace keel
