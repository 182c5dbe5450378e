// Identity: the one operator the node acts for, and the external accounts
// (email, billing, CRM, LLM endpoints) mapped to that operator. Each account
// grants capabilities (e.g. "email.send", "billing.refund") and names the
// secret that authenticates it as "secret://NAME" (resolved by the vault only
// where the account is used; never stored here in plain text).
//
//   operator: {name: Ada Lovelace, email: ada@example.com}
//   accounts:
//     - name: stripe-live
//       kind: billing                 # email | billing | crm | llm | other
//       capabilities: [billing.refund, billing.charge]
//       secret: secret://stripe_api_key
//       endpoint: https://api.stripe.com   # optional
//   secret_scopes:                    # which actions may receive which secrets
//     stripe_api_key: [billing.*]     # action patterns ("*" alone, or a trailing "*")
//
// Secret scoping (may_use_secret): a task or step running action A gets
// secret S only if S's scope lists a pattern matching A, or, when S has no
// scope of its own, an account naming S grants A. A secret neither scoped
// nor named by an account is usable by no action: the grant is always
// written down, so a new secret cannot leak through an action nobody
// meant to hand it to.
//
// Parsing is strict like the node config: unknown keys, duplicates and bad
// values are reported with origin:line and the key path.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::control {

struct operator_identity {
  std::string name;
  std::string email;
};

struct external_account {
  std::string name;
  std::string kind;  // email | billing | crm | llm | other
  std::vector<std::string> capabilities;
  std::string secret;    // "secret://NAME" or empty
  std::string endpoint;  // optional URL
  int line = 0;          // where it was declared, for later error messages
};

struct identity_config {
  operator_identity op;
  std::vector<external_account> accounts;
  std::map<std::string, std::vector<std::string>> secret_scopes;  // secret name -> action patterns

  const external_account* find(const std::string& name) const;
  // Accounts granting `capability`, in declaration order.
  std::vector<const external_account*> granting(const std::string& capability) const;
  // The secret names (without "secret://") the accounts refer to.
  std::vector<std::string> secret_names() const;
  // Whether a task running `action` may receive secret `name` (rules in
  // the file comment). Error forbidden saying which config line to add.
  status may_use_secret(const std::string& name, const std::string& action) const;
};

// `yaml_text` may be a whole node config: only `operator:` and `accounts:`
// are read, and other top-level keys are left to their own loaders.
result<identity_config> parse_identity(const std::string& yaml_text, const std::string& origin);
result<identity_config> load_identity_file(const std::string& path);

}  // namespace keel::control
