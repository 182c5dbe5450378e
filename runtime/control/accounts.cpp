#include "runtime/control/accounts.hpp"

#include <set>

#include "runtime/base/yaml_text.hpp"
#include "runtime/control/policy.hpp"
#include "runtime/base/secret_ref.hpp"
#include "runtime/base/yaml_reader.hpp"

namespace keel::control {

const external_account* identity_config::find(const std::string& name) const {
  for (const auto& a : accounts)
    if (a.name == name) return &a;
  return nullptr;
}

std::vector<const external_account*> identity_config::granting(const std::string& capability) const {
  std::vector<const external_account*> out;
  for (const auto& a : accounts)
    for (const auto& c : a.capabilities)
      if (c == capability) {
        out.push_back(&a);
        break;
      }
  return out;
}

std::vector<std::string> identity_config::secret_names() const {
  std::vector<std::string> out;
  for (const auto& a : accounts)
    if (!a.secret.empty()) out.push_back(secret_ref_name(a.secret));
  return out;
}

status identity_config::may_use_secret(const std::string& name, const std::string& action) const {
  if (auto it = secret_scopes.find(name); it != secret_scopes.end()) {
    for (const auto& p : it->second)
      if (pattern_matches(p, action)) return ok_v;
    return error{errc::forbidden, "the secret '" + name + "' is not scoped to action '" + action +
                                      "': its secret_scopes entry allows only [" + [&] {
                                        std::string l;
                                        for (const auto& p : it->second) l += (l.empty() ? "" : ", ") + p;
                                        return l;
                                      }() + "]; add '" + action + "' there if this action really needs it"};
  }
  bool named = false;
  for (const auto& a : accounts) {
    if (a.secret.empty() || secret_ref_name(a.secret) != name) continue;
    named = true;
    for (const auto& c : a.capabilities)
      if (c == action) return ok_v;
  }
  if (named)
    return error{errc::forbidden, "the secret '" + name + "' belongs to an account that does not grant '" + action +
                                      "': add the capability to that account (see `keelctl accounts`) or scope the "
                                      "secret with `secret_scopes: {" + name + ": [" + action + "]}`"};
  return error{errc::forbidden, "the secret '" + name + "' has no scope, so no action may use it: add `secret_scopes: {" +
                                    name + ": [" + action + "]}` to the node config (or name it as the secret of an account "
                                    "whose capabilities include '" + action + "'), then restart the node"};
}

result<identity_config> parse_identity(const std::string& yaml_text, const std::string& origin) {
  auto loaded = parse_yaml_text(yaml_text, origin);
  if (!loaded) return loaded.err();
  const YAML::Node& root = *loaded;
  identity_config out;
  detail::yaml_reader top(root, origin, "");
  if (top.has("operator")) {
    auto op = top.child("operator");
    op.get("name", out.op.name);
    op.get("email", out.op.email);
    op.finish();
    top.absorb(op);
  }
  if (top.has("accounts")) {
    auto list = top.node()["accounts"];
    if (!list.IsSequence()) top.fail(list, "accounts", "expected a list of accounts");
    static const std::set<std::string> kinds{"email", "billing", "crm", "llm", "other"};
    std::set<std::string> seen;
    for (std::size_t i = 0; list.IsSequence() && i < list.size() && top.ok(); ++i) {
      detail::yaml_reader r(list[i], origin, "accounts[" + std::to_string(i) + "]");
      external_account a;
      a.line = list[i].Mark().line + 1;
      r.get("name", a.name);
      r.get("kind", a.kind);
      r.get("capabilities", a.capabilities);
      r.get("secret", a.secret);
      r.get("endpoint", a.endpoint);
      r.finish();
      if (r.ok() && a.name.empty()) r.fail(list[i], "name", "every account needs a name");
      if (r.ok() && !seen.insert(a.name).second) r.fail(list[i]["name"], "name", "account '" + a.name + "' is listed twice");
      if (r.ok() && !kinds.count(a.kind))
        r.fail(list[i]["kind"], "kind", "must be one of email, billing, crm, llm, other (got '" + a.kind + "')");
      if (r.ok() && !a.secret.empty()) {
        auto name = secret_ref_name(a.secret);
        if (name.empty() || !valid_secret_name(name))
          r.fail(list[i]["secret"], "secret",
                 "must be a reference such as secret://stripe_api_key (never the secret itself)");
      }
      for (const auto& c : a.capabilities)
        if (r.ok() && (c.empty() || c.find(' ') != std::string::npos))
          r.fail(list[i]["capabilities"], "capabilities", "'" + c + "' is not a capability name such as email.send");
      top.absorb(r);
      out.accounts.push_back(std::move(a));
    }
  }
  if (top.has("secret_scopes")) {
    auto node = top.node()["secret_scopes"];
    if (!node.IsMap() && !node.IsNull()) top.fail(node, "secret_scopes", "expected a map: SECRET_NAME: [action, ...]");
    for (auto it = node.begin(); node.IsMap() && it != node.end() && top.ok(); ++it) {
      auto name = it->first.as<std::string>();
      if (!valid_secret_name(name)) {
        top.fail(it->first, "secret_scopes", "'" + name + "' is not a secret name (letters, digits, _ - .)");
        break;
      }
      std::vector<std::string> patterns;
      if (it->second.IsSequence()) {
        for (const auto& p : it->second)
          if (p.IsScalar() && !p.as<std::string>().empty()) patterns.push_back(p.as<std::string>());
          else top.fail(p, "secret_scopes." + name, "expected action names or patterns such as billing.*");
      } else {
        top.fail(it->second, "secret_scopes." + name, "expected a list of actions, e.g. [billing.refund, http.*]");
      }
      out.secret_scopes[name] = std::move(patterns);
    }
  }
  if (!top.ok()) return error{errc::config, top.first_error()};
  return out;
}

result<identity_config> load_identity_file(const std::string& path) {
  auto text = read_config_file(path, "accounts file");
  if (!text) return text.err();
  return parse_identity(*text, path);
}

}  // namespace keel::control
