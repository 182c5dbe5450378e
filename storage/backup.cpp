#include "storage/backup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "runtime/base/crypto.hpp"
#include "runtime/base/hex.hpp"
#include "storage/backup_format.hpp"
#include "storage/private_dir.hpp"

namespace keel {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t progress_every = 64ull << 20;

struct file_closer {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

result<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error{errc::not_found, "cannot read " + path};
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// One pass over a backup file: checks the framing and the trailer, calling
// fn(record) for each record when fn is set.
result<backup_report> walk_backup(const std::string& file, const backup_progress& progress,
                                  const std::function<status(backup_record&)>& fn) {
  file_ptr f(std::fopen(file.c_str(), "rb"));
  if (!f) return error{errc::not_found, "cannot open " + file + ": " + std::strerror(errno)};
  backup_decoder in([&](char* to, std::size_t n) { return std::fread(to, 1, n, f.get()) == n; }, file);
  backup_report rep;
  std::uint64_t last_progress = 0;
  for (;;) {
    auto rec = in.next();
    if (!rec) return rec.err();
    if (!*rec) break;
    if ((*rec)->kind == 'k') ++rep.keys;
    else ++rep.files;
    if (fn)
      if (auto s = fn(**rec); !s) return s.err();
    if (progress && in.bytes() - last_progress >= progress_every) progress(rep.keys, last_progress = in.bytes());
  }
  rep.bytes = in.bytes();
  rep.sha256 = to_hex(in.digest());
  if (progress) progress(rep.keys, rep.bytes);
  return rep;
}

bool safe_name(const std::string& name) {
  if (name.empty() || name[0] == '/' || name.find('\0') != std::string::npos) return false;
  for (const auto& part : fs::path(name))
    if (part == ".." || part == ".") return false;
  return true;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> backup_side_files(const std::string& data_dir) {
  std::vector<std::pair<std::string, std::string>> out;
  std::error_code ec;
  for (const char* name : {"authorized_keys.json", "node.pub"})
    if (fs::is_regular_file(fs::path(data_dir) / name, ec)) out.emplace_back(name, (fs::path(data_dir) / name).string());
  for (fs::directory_iterator it(fs::path(data_dir) / "keys", ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) out.emplace_back("keys/" + it->path().filename().string(), it->path().string());
  return out;
}

result<backup_report> write_backup(const store& db, const backup_options& opts) {
  std::error_code ec;
  if (fs::exists(opts.out, ec)) return error{errc::conflict, opts.out + " exists; give a new file name (a backup never overwrites)"};
  std::string vault_key;
  if (!opts.vault_key_file.empty()) {
    auto k = read_whole(opts.vault_key_file);
    if (!k) return error{errc::not_found, "--with-key: cannot read the vault key " + opts.vault_key_file};
    vault_key = std::move(*k);
  }
  auto partial = opts.out + ".partial";
  auto old_mask = ::umask(077);
  file_ptr f(std::fopen(partial.c_str(), "wb"));
  ::umask(old_mask);
  if (!f) return error{errc::io, "cannot write " + partial + ": " + std::strerror(errno)};
  auto fail = [&](const std::string& what) {
    f.reset();
    fs::remove(partial, ec);
    return error{errc::io, "backup to " + opts.out + " failed: " + what};
  };
  backup_encoder w([&](std::string_view bytes) { return std::fwrite(bytes.data(), 1, bytes.size(), f.get()) == bytes.size(); });
  if (!w.begin()) return fail("cannot write " + partial);
  backup_report rep;
  std::uint64_t last_progress = 0;
  bool write_ok = true;
  auto scanned = db.scan("", [&](const std::string& k, const std::string& v) {
    write_ok = w.record('k', k, v);
    ++rep.keys;
    if (opts.progress && w.bytes() - last_progress >= progress_every) opts.progress(rep.keys, last_progress = w.bytes());
    return write_ok;
  });
  if (!scanned) return fail(scanned.err().message);
  if (!write_ok) return fail("cannot write " + partial + " (disk full?)");
  for (const auto& [name, path] : backup_side_files(db.dir())) {
    auto body = read_whole(path);
    if (!body) return fail(body.err().message);
    if (!w.record('f', name, *body)) return fail("cannot write " + partial);
    ++rep.files;
  }
  if (!vault_key.empty()) {
    write_ok = w.record('f', "vault.key", vault_key);
    control::wipe(vault_key);
    if (!write_ok) return fail("cannot write " + partial);
    ++rep.files;
    rep.with_key = true;
  }
  if (!w.finish() || std::fflush(f.get()) != 0 || ::fsync(::fileno(f.get())) != 0) return fail("cannot write " + partial);
  f.reset();
  fs::rename(partial, opts.out, ec);
  if (ec) return fail("cannot rename " + partial + ": " + ec.message());
  rep.bytes = w.bytes();
  rep.sha256 = to_hex(w.digest());
  if (opts.progress) opts.progress(rep.keys, rep.bytes);
  return rep;
}

result<backup_report> restore_backup(const std::string& file, const std::string& data_dir, const backup_progress& progress) {
  std::error_code ec;
  if (fs::exists(data_dir, ec) && !fs::is_empty(data_dir, ec))
    return error{errc::conflict, data_dir + " is not empty; restore into a new directory (a restore never mixes into existing data)"};
  // First pass: the whole file checks out, or nothing is written.
  bool unsafe = false;
  auto checked = walk_backup(file, {}, [&](backup_record& r) -> status {
    if (r.kind == 'f' && !safe_name(r.name)) unsafe = true;
    return ok_v;
  });
  if (!checked) return checked.err();
  if (unsafe) return error{errc::bad_request, file + " names a file outside the data dir; it was not made by keel backup"};
  if (auto made = make_private(data_dir); !made) return made.err();
  auto db = store::open(data_dir);
  if (!db) return db.err();
  write_batch batch;
  std::size_t batch_bytes = 0;
  auto flush = [&]() -> status {
    if (batch.empty()) return ok_v;
    auto s = (*db)->write(batch, false);
    batch.clear();
    batch_bytes = 0;
    return s;
  };
  auto restored = walk_backup(file, progress, [&](backup_record& r) -> status {
    auto& name = r.name;
    auto& value = r.value;
    if (r.kind == 'k') {
      batch_bytes += name.size() + value.size();
      batch.put(std::move(name), std::move(value));
      return batch_bytes >= (4u << 20) ? flush() : status(ok_v);
    }
    auto path = fs::path(data_dir) / name;
    fs::create_directories(path.parent_path(), ec);
    auto old_mask = ::umask(077);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    ::umask(old_mask);
    out.write(value.data(), static_cast<std::streamsize>(value.size()));
    if (name == "vault.key") control::wipe(value);
    if (!out) return error{errc::io, "cannot write " + path.string()};
    return ok_v;
  });
  if (!restored) return restored.err();
  if (auto s = flush(); !s) return s.err();
  if (auto s = (*db)->write(write_batch{}, true); !s) return s.err();  // durable before we say so
  restored->with_key = fs::exists(fs::path(data_dir) / "vault.key", ec);
  return restored;
}

}  // namespace keel
