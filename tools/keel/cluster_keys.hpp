// The CURVE keys kept in a node's data dir. Neither `keel node` (without
// --key or --insecure) nor `keel cluster up` runs a node that lets anyone
// in: on first start they make, in DATA/keys (mode 0700), a node key
// (node.key; the node writes its public half to DATA/node.pub), an admin
// key for keelctl (admin.key) and, for a cluster, one key per local executor, and authorize
// the admin and executor keys in DATA/authorized_keys.json. Later starts
// reuse them, so keelctl settings stay valid across restarts.
#pragma once

#include <string>

#include "runtime/fabric/curve_keys.hpp"
#include "runtime/base/error.hpp"

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

// Writes DATA/keys/keelctl.env: the exports that point keelctl at the node
// on `endpoint` with the admin key (a path and a public key; no secret).
// Returns the file's path.
result<std::string> write_keelctl_env(const cluster_keys& keys, const std::string& endpoint);

}  // namespace keel
