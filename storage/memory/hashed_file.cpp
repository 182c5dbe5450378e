// See hashed_file.hpp: the write-tmp-hash-rename protocol shared by the
// memory store's cache files.
#include "storage/memory/hashed_file.hpp"

#include <filesystem>
#include <fstream>

#include "storage/memory/content_hash.hpp"

namespace keel::memory {

status commit_hashed_file(const std::string& path, nlohmann::json meta) {
  std::string tmp = path + ".tmp";
  auto hash = file_hash(tmp);
  if (hash.empty()) return error{errc::io, "cannot read back " + tmp + "; check disk space"};
  meta["hash"] = hash;
  {
    std::ofstream out(path + ".meta.tmp", std::ios::trunc);
    out << meta.dump(2) << "\n";
    if (!out.flush()) return error{errc::io, "cannot write " + path + ".meta.tmp; check disk space"};
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (!ec) std::filesystem::rename(path + ".meta.tmp", path + ".meta", ec);
  if (ec) return error{errc::io, "cannot replace " + path + ": " + ec.message()};
  return ok_v;
}

result<nlohmann::json> read_hashed_meta(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) || !std::filesystem::exists(path + ".meta", ec))
    return error{errc::not_found, what + " " + path + " (or its .meta) does not exist"};
  std::ifstream in(path + ".meta");
  auto meta = nlohmann::json::parse(in, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) return error{errc::io, path + ".meta is not valid JSON"};
  auto want = meta.value("hash", std::string());
  if (want.empty() || file_hash(path) != want)
    return error{errc::io, what + " " + path + " does not match the hash in its .meta (damaged or half-written)"};
  return meta;
}

}  // namespace keel::memory
