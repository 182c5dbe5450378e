// The CURVE keys of a local cluster. `keel cluster up` never runs a node
// that lets anyone in: on first start it makes, in DATA/keys (mode 0700),
// a node key, an admin key for keelctl and one key per local executor, and
// authorizes the admin and executor keys in DATA/authorized_keys.json.
// Later starts reuse them, so keelctl settings stay valid across restarts.
#pragma once

#include <string>

#include "runtime/curve_keys.hpp"
#include "runtime/error.hpp"

namespace keel {

struct cluster_keys {
  std::string dir;              // DATA/keys
  std::string node_key_file;    // for `keel node --key`
  std::string node_public;      // what clients and executors pass as --server-key
  std::string admin_key_file;   // for keelctl --key / $KEEL_KEY
  curve_keypair admin;

  std::string executor_key_file(int i) const;  // local-I
};

// Creates what is missing and authorizes local-1..local-N. Errors: io (names
// the file and what to do), or a key file others can read.
result<cluster_keys> ensure_cluster_keys(const std::string& data_dir, int executors);

}  // namespace keel
