#include "storage/private_dir.hpp"

#include <filesystem>

namespace keel {

namespace fs = std::filesystem;

namespace {

constexpr auto open_to_others = fs::perms::group_all | fs::perms::others_all;

status tighten(const fs::path& p, std::vector<std::string>& changed) {
  std::error_code ec;
  auto st = fs::symlink_status(p, ec);
  if (ec || fs::is_symlink(st)) return ok_v;
  if ((st.permissions() & open_to_others) == fs::perms::none) return ok_v;
  fs::permissions(p, open_to_others, fs::perm_options::remove, ec);
  if (ec) return error{errc::io, "cannot make " + p.string() + " private (" + ec.message() + "); chmod go-rwx it by hand"};
  changed.push_back(p.string());
  return ok_v;
}

}  // namespace

result<std::vector<std::string>> make_private(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return error{errc::io, "cannot create data dir '" + dir + "': " + ec.message() + "; pick a writable --data-dir"};
  }
  std::vector<std::string> changed;
  if (auto s = tighten(dir, changed); !s) return s.err();
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (auto s = tighten(it->path(), changed); !s) return s.err();
  if (ec) return error{errc::io, "cannot read data dir '" + dir + "': " + ec.message()};
  return changed;
}

}  // namespace keel
