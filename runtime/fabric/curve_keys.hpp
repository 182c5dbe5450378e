// CurveZMQ key pairs and the file they live in. A key file holds one pair
// in Z85 text and must be readable by its owner only (0600): reading a key
// file that others can read is an error, and writing never replaces an
// existing file. The secret half never appears in logs or error messages.
#pragma once

#include <optional>
#include <string>

#include "runtime/base/error.hpp"

namespace keel {

struct curve_keypair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters
};

result<curve_keypair> generate_keypair();
// Creates `path` with mode 0600. Errors: the file exists, or cannot be written.
status write_key_file(const std::string& path, const curve_keypair& keys);
// Errors: missing, unreadable, malformed, or readable by group/others.
result<curve_keypair> read_key_file(const std::string& path);
bool valid_z85_key(const std::string& key);

// tcp://127.x.x.x:P, tcp://localhost:P, tcp://[::1]:P, ipc://, inproc://.
bool is_loopback_endpoint(const std::string& endpoint);
// Where a process on this machine connects to reach a node bound at
// `listen`: a wildcard bind (tcp://*:P, the IPv4 or IPv6 any-address) is
// reached on tcp://127.0.0.1:P; every other endpoint is itself.
std::string local_endpoint_of(const std::string& listen);
// P of tcp://HOST:P; 0 for other transports or no valid port.
int endpoint_port(const std::string& endpoint);

// What a peer needs to talk CURVE to a node (client side).
struct curve_client_keys {
  std::string server_public;  // the node's public key
  curve_keypair own;          // this peer's pair
};

// The admin keys of a node on this machine, from its data dir:
// DIR/keys/admin.key (made by `keel node` and `keel cluster up`) and
// DIR/node.pub (written by the node at each start). nullopt when they are
// not there and `required` is false; with `required`, an error saying what
// to pass instead.
result<std::optional<curve_client_keys>> client_keys_from_data_dir(const std::string& dir, bool required);

}  // namespace keel
