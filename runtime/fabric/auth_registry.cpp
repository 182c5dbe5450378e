#include "runtime/fabric/auth_registry.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/fabric/curve_keys.hpp"
#include "runtime/base/duration.hpp"

namespace keel {

nlohmann::json to_json(const principal& p) {
  return {{"name", p.name}, {"public_key", p.public_key}, {"role", p.role}, {"caps", p.caps},
          {"labels", p.labels}, {"revoked", p.revoked}, {"added_ms", p.added_ms}};
}

result<std::unique_ptr<auth_registry>> auth_registry::open(const std::string& path) {
  auto reg = std::make_unique<auth_registry>();
  reg->path_ = path;
  std::ifstream in(path);
  if (!in) return reg;
  try {
    auto j = nlohmann::json::parse(in);
    for (const auto& e : j.at("keys")) {
      principal p;
      p.name = e.at("name").get<std::string>();
      p.public_key = e.at("public_key").get<std::string>();
      p.role = e.at("role").get<std::string>();
      p.caps = e.value("caps", std::vector<std::string>());
      p.labels = e.value("labels", std::map<std::string, std::string>());
      p.revoked = e.value("revoked", false);
      p.added_ms = e.value("added_ms", std::int64_t{0});
      reg->entries_.push_back(std::move(p));
    }
  } catch (const std::exception& ex) {
    return error{errc::config, "authorized keys file " + path + " is damaged (" + ex.what() +
                                   "); restore it from a backup or move it away and authorize the keys again"};
  }
  return reg;
}

std::optional<principal> auth_registry::by_key(const std::string& key) const {
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& e : entries_)
    if (e.public_key == key) return e;
  return std::nullopt;
}

std::optional<principal> auth_registry::by_name(const std::string& name) const {
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& e : entries_)
    if (e.name == name) return e;
  return std::nullopt;
}

std::vector<principal> auth_registry::list() const {
  std::lock_guard<std::mutex> g(mu_);
  return entries_;
}

bool auth_registry::has_admin() const {
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& e : entries_)
    if (e.role == "admin" && !e.revoked) return true;
  return false;
}

status auth_registry::authorize(principal p) {
  if (!valid_z85_key(p.public_key))
    return error{errc::bad_request, "'" + p.public_key.substr(0, 48) + "' is not a CURVE public key (40 Z85 characters, from `keel keygen`)"};
  if (p.role != "executor" && p.role != "admin") return error{errc::bad_request, "role must be executor or admin"};
  if (p.name.empty() || p.name.size() > 64) return error{errc::bad_request, "an authorization needs a --name (1..64 characters)"};
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& e : entries_) {
    if (e.name == p.name) return error{errc::conflict, "the name '" + p.name + "' is already used; revoke it first or pick another"};
    if (e.public_key == p.public_key) return error{errc::conflict, "this key is already authorized as '" + e.name + "'"};
  }
  p.added_ms = unix_now_ms();
  entries_.push_back(std::move(p));
  return save();
}

status auth_registry::revoke(const std::string& name) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto& e : entries_) {
    if (e.name != name) continue;
    e.revoked = true;
    return save();
  }
  return error{errc::not_found, "no authorized key named '" + name + "'; see `keelctl executors keys`"};
}

status auth_registry::save() const {
  nlohmann::json j = {{"keys", nlohmann::json::array()}};
  for (const auto& e : entries_) j["keys"].push_back(to_json(e));
  auto tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return error{errc::io, "cannot write " + tmp};
  auto text = j.dump(2) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) return error{errc::io, "cannot save " + path_};
  return ok_v;
}

}  // namespace keel
