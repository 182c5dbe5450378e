// The node config's `connectors:` section: one list, each entry a webhook
// source, a files import, an HTTP poll or a Maildir folder (the keys of each
// kind are documented in webhook_ingress.hpp, file_connector.hpp,
// http_poll_connector.hpp and maildir_connector.hpp, and in
// docs/connectors.md). Parsing is strict like the rest of the node config:
// an unknown key, a wrong type, a duplicate name or a bad mapping is an
// error naming origin:line and the key. Secrets stay references
// ("secret://NAME") until resolve_secrets() runs with the vault.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "adapters/connectors/file_connector.hpp"
#include "adapters/connectors/http_poll_connector.hpp"
#include "adapters/connectors/maildir_connector.hpp"
#include "adapters/connectors/webhook_ingress.hpp"
#include "runtime/base/error.hpp"

namespace keel::connectors {

struct connectors_config {
  std::vector<webhook_source> webhooks;
  std::vector<file_source> files;
  std::vector<http_poll_source> polls;
  std::vector<maildir_source> maildirs;
  // Pull connectors: sync every this often (0: only on `keelctl connectors sync`).
  std::map<std::string, std::chrono::milliseconds> every;
  bool empty() const { return webhooks.empty() && files.empty() && polls.empty() && maildirs.empty(); }
};

// Reads `connectors:` from a whole node config text (other keys are left to
// their own loaders). No section: an empty config.
result<connectors_config> parse_connectors(const std::string& yaml_text, const std::string& origin);

// Replaces every "secret://NAME" (a whole value, or inside a header value
// such as "Bearer secret://NAME") with `resolve(NAME)`. Errors name the
// connector and the secret, never a value.
using secret_resolver = std::function<result<std::string>(const std::string& name)>;
status resolve_secrets(connectors_config& cfg, const secret_resolver& resolve);

}  // namespace keel::connectors
