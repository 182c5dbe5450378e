#include "runtime/base/secret_ref.hpp"

#include <cctype>

namespace keel {

bool valid_secret_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

std::string secret_ref_name(std::string_view ref) {
  if (ref.substr(0, secret_scheme.size()) != secret_scheme) return {};
  auto name = ref.substr(secret_scheme.size());
  return valid_secret_name(name) ? std::string(name) : std::string();
}

namespace {

// RFC 6901: '~' and '/' in a key are written "~0" and "~1".
void append_token(std::string& at, const std::string& key) {
  at += '/';
  for (char c : key) {
    if (c == '~') at += "~0";
    else if (c == '/') at += "~1";
    else at += c;
  }
}

// `at` is the pointer of `j`, grown and cut back in place: a template with
// no reference allocates nothing per element.
void collect(const nlohmann::json& j, std::string& at, std::vector<std::string>& out) {
  const auto len = at.size();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (!secret_ref_name(s).empty() && s.find("{{") == std::string::npos) out.push_back(at);
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      append_token(at, k);
      collect(v, at, out);
      at.resize(len);
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      at += '/';
      at += std::to_string(i);
      collect(j[i], at, out);
      at.resize(len);
    }
  }
}

}  // namespace

std::vector<std::string> secret_ref_pointers(const nlohmann::json& tmpl) {
  std::vector<std::string> out;
  std::string at;
  collect(tmpl, at, out);
  return out;
}

}  // namespace keel
