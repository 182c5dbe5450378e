// Who may talk to a node that runs with CURVE: every authorized public key
// with a name and a role. Executors may only speak the executor protocol
// (and only offer the actions and labels their authorization allows, when
// it names any); admins may send requests. A revoked key is refused at the
// handshake and its live connection is cut off.
//
// Persisted in DATA_DIR/authorized_keys.json (mode 0600). Thread-safe: the
// ZAP handler reads it on the gateway's thread while actors change it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel {

struct principal {
  std::string name;
  std::string public_key;
  std::string role;  // "executor" or "admin"
  std::vector<std::string> caps;              // empty: any
  std::map<std::string, std::string> labels;  // set on the executor's registration
  bool revoked = false;
  std::int64_t added_ms = 0;
};

class auth_registry {
 public:
  // Loads (or starts empty when the file does not exist).
  static result<std::unique_ptr<auth_registry>> open(const std::string& path);

  std::optional<principal> by_key(const std::string& public_key) const;
  std::optional<principal> by_name(const std::string& name) const;
  std::vector<principal> list() const;
  bool has_admin() const;

  // Errors: bad key, bad role, name or key already used by another entry.
  status authorize(principal p);
  // Errors: unknown name.
  status revoke(const std::string& name);

 private:
  status save() const;  // caller holds mu_

  std::string path_;
  mutable std::mutex mu_;
  std::vector<principal> entries_;
};

nlohmann::json to_json(const principal& p);  // without secrets (there are none here)

}  // namespace keel
