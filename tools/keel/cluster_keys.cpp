#include "tools/keel/cluster_keys.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "runtime/fabric/auth_registry.hpp"

namespace keel {

namespace fs = std::filesystem;

std::string cluster_keys::executor_key_file(int i) const { return dir + "/local-" + std::to_string(i) + ".key"; }

namespace {

// Reads `path`, or makes a new pair there (0600) when it does not exist.
result<curve_keypair> load_or_make(const std::string& path) {
  if (fs::exists(path)) return read_key_file(path);
  auto kp = generate_keypair();
  if (!kp) return kp.err();
  if (auto w = write_key_file(path, *kp); !w) return w.err();
  return kp;
}

// Authorizes `name` with `key` unless an entry of that name exists. A
// revoked entry stays revoked: the operator's decision wins over the launcher.
status ensure_authorized(auth_registry& reg, const std::string& name, const std::string& key, const std::string& role) {
  if (reg.by_name(name)) return ok_v;
  principal p;
  p.name = name;
  p.public_key = key;
  p.role = role;
  if (role == "executor") p.labels = {{"site", "local"}};
  return reg.authorize(p);
}

}  // namespace

result<cluster_keys> ensure_cluster_keys(const std::string& data_dir, int executors) {
  cluster_keys k;
  auto root = fs::absolute(data_dir).lexically_normal();
  k.dir = (root / "keys").string();
  std::error_code ec;
  fs::create_directories(k.dir, ec);
  if (ec) return error{errc::io, "cannot create " + k.dir + ": " + ec.message() + "; pick a writable --data-dir"};
  ::chmod(k.dir.c_str(), 0700);
  k.node_key_file = k.dir + "/node.key";
  k.admin_key_file = k.dir + "/admin.key";
  auto node = load_or_make(k.node_key_file);
  if (!node) return node.err();
  k.node_public = node->public_key;
  auto admin = load_or_make(k.admin_key_file);
  if (!admin) return admin.err();
  k.admin = *admin;
  auto reg = auth_registry::open((root / "authorized_keys.json").string());
  if (!reg) return reg.err();
  if (auto s = ensure_authorized(**reg, "keelctl", k.admin.public_key, "admin"); !s) return s.err();
  for (int i = 1; i <= executors; ++i) {
    auto exec = load_or_make(k.executor_key_file(i));
    if (!exec) return exec.err();
    if (auto s = ensure_authorized(**reg, "local-" + std::to_string(i), exec->public_key, "executor"); !s) return s.err();
  }
  return k;
}

result<std::string> write_keelctl_env(const cluster_keys& keys, const std::string& endpoint) {
  auto path = keys.dir + "/keelctl.env";
  std::ofstream env(path, std::ios::trunc);
  // Single quotes: Z85 uses shell characters such as ( ) < > ! but never '.
  env << "export KEEL_ENDPOINT='" << endpoint << "'\nexport KEEL_KEY='" << keys.admin_key_file
      << "'\nexport KEEL_SERVER_KEY='" << keys.node_public << "'\n";
  if (!env) return error{errc::io, "cannot write " + path + "; check the permissions of " + keys.dir};
  return path;
}

}  // namespace keel
