#include "storage/backup.hpp"

#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "runtime/base/crypto.hpp"
#include "runtime/base/hex.hpp"
#include "storage/private_dir.hpp"

namespace keel {

namespace fs = std::filesystem;

namespace {

constexpr char magic[] = "KEELBAK1";
constexpr std::size_t magic_len = 8;
constexpr std::uint64_t progress_every = 64ull << 20;
constexpr std::uint64_t max_value = 1ull << 32;  // nothing a node stores comes near it

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_be(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// Writes through a buffer, hashing everything, counting bytes.
class backup_writer {
 public:
  explicit backup_writer(std::FILE* f) : f_(f) {}
  bool write(std::string_view bytes) {
    hash_.update(bytes);
    bytes_ += bytes.size();
    return std::fwrite(bytes.data(), 1, bytes.size(), f_) == bytes.size();
  }
  bool record(char kind, std::string_view name, std::string_view value) {
    head_.clear();
    head_.push_back(kind);
    put_be(head_, name.size(), 4);
    head_.append(name);
    put_be(head_, value.size(), 8);
    ++records_;
    return write(head_) && write(value);
  }
  bool finish() {
    std::string tail(1, 'e');
    put_be(tail, records_, 8);
    digest_ = hash_.digest();
    tail += digest_;
    bytes_ += tail.size();
    return std::fwrite(tail.data(), 1, tail.size(), f_) == tail.size();
  }
  std::uint64_t bytes() const { return bytes_; }
  const std::string& digest() const { return digest_; }

 private:
  std::FILE* f_;
  control::sha256_stream hash_;
  std::string head_, digest_;
  std::uint64_t bytes_ = 0, records_ = 0;
};

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
// fn(kind, name, value) for each record when fn is set.
result<backup_report> walk_backup(const std::string& file, const backup_progress& progress,
                                  const std::function<status(char, std::string, std::string)>& fn) {
  file_ptr f(std::fopen(file.c_str(), "rb"));
  if (!f) return error{errc::not_found, "cannot open " + file + ": " + std::strerror(errno)};
  auto damaged = [&](const std::string& what) {
    return error{errc::bad_request, file + " is damaged: " + what + "; it cannot be restored (take a new backup)"};
  };
  control::sha256_stream hash;
  backup_report rep;
  std::uint64_t last_progress = 0;
  auto read = [&](std::string& out, std::size_t n, bool hashed) -> bool {
    out.resize(n);
    if (n && std::fread(out.data(), 1, n, f.get()) != n) return false;
    if (hashed) hash.update(out);
    rep.bytes += n;
    return true;
  };
  std::string head, name, value;
  if (!read(head, magic_len, true) || head != magic) return error{errc::bad_request, file + " is not a Keel backup (no KEELBAK1 header)"};
  std::uint64_t records = 0;
  for (;;) {
    if (!read(head, 1, false)) return damaged("it ends without its trailer (cut short?)");
    if (head[0] == 'e') break;
    hash.update(head);
    if (head[0] != 'k' && head[0] != 'f') return damaged("unknown record kind at byte " + std::to_string(rep.bytes - 1));
    char kind = head[0];
    std::string len;
    if (!read(len, 4, true)) return damaged("cut short in a record");
    auto name_len = get_be(reinterpret_cast<const unsigned char*>(len.data()), 4);
    if (name_len > (1u << 20) || !read(name, name_len, true) || !read(len, 8, true)) return damaged("cut short in a record");
    auto value_len = get_be(reinterpret_cast<const unsigned char*>(len.data()), 8);
    if (value_len > max_value || !read(value, value_len, true)) return damaged("cut short in a record");
    ++records;
    if (kind == 'k') ++rep.keys;
    else ++rep.files;
    if (fn)
      if (auto s = fn(kind, std::move(name), std::move(value)); !s) return s.err();
    if (progress && rep.bytes - last_progress >= progress_every) progress(rep.keys, last_progress = rep.bytes);
  }
  std::string count, digest;
  if (!read(count, 8, false) || !read(digest, 32, false)) return damaged("its trailer is cut short");
  if (std::fgetc(f.get()) != EOF) return damaged("bytes after the trailer");
  if (get_be(reinterpret_cast<const unsigned char*>(count.data()), 8) != records) return damaged("the record count does not match");
  if (hash.digest() != digest) return damaged("the checksum does not match");
  rep.sha256 = to_hex(digest);
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
  backup_writer w(f.get());
  if (!w.write(std::string_view(magic, magic_len))) return fail("cannot write " + partial);
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
  auto checked = walk_backup(file, {}, [&](char kind, std::string name, std::string) -> status {
    if (kind == 'f' && !safe_name(name)) unsafe = true;
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
  auto restored = walk_backup(file, progress, [&](char kind, std::string name, std::string value) -> status {
    if (kind == 'k') {
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
