#include "tools/keel/backup_command.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "runtime/fabric/client.hpp"
#include "runtime/fabric/curve_keys.hpp"
#include "storage/backup.hpp"
#include "storage/store.hpp"

namespace keel {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

int fail(const char* cmd, const std::string& message) {
  std::fprintf(stderr, "keel %s: %s\n", cmd, message.c_str());
  return 2;
}

backup_progress progress_line(const char* what) {
  if (!::isatty(STDERR_FILENO)) return {};
  return [what](std::uint64_t keys, std::uint64_t bytes) {
    std::fprintf(stderr, "\r%s: %llu keys, %llu MiB", what, static_cast<unsigned long long>(keys),
                 static_cast<unsigned long long>(bytes >> 20));
    std::fflush(stderr);
  };
}

void end_progress() {
  if (::isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
}

void print_report(const char* verb, const std::string& where, std::uint64_t keys, std::uint64_t files,
                  std::uint64_t bytes, const std::string& sha256) {
  std::printf("%s %s: %llu keys, %llu files, %.1f MiB, sha256 %s\n", verb, where.c_str(),
              static_cast<unsigned long long>(keys), static_cast<unsigned long long>(files), bytes / 1048576.0,
              sha256.c_str());
}

bool node_running(const std::string& data_dir) {
  long pid = read_node_pid(data_dir);
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

int backup_through_node(const backup_cli& o, const std::string& out) {
  std::ifstream in(fs::path(o.data_dir) / "node.endpoint");
  std::string endpoint;
  if (!std::getline(in, endpoint) || endpoint.empty())
    return fail("backup", "a node runs on " + o.data_dir + " but left no node.endpoint there; restart it with this keel, "
                          "or run `keelctl backup --out FILE` against it");
  auto keys = client_keys_from_data_dir(o.data_dir, false);
  if (!keys) return fail("backup", keys.err().message);
  auto c = client::connect(local_endpoint_of(endpoint), *keys ? &**keys : nullptr);
  if (!c) return fail("backup", c.err().message);
  std::fprintf(stderr, "keel backup: a node runs on %s; it writes the backup (see its log for progress)\n", o.data_dir.c_str());
  auto r = (*c)->call("backup", {{"out", out}, {"with_key", o.with_key}}, 12h);
  if (!r) return fail("backup", r.err().message);
  print_report("backed up to", out, r->value("keys", 0ull), r->value("files", 0ull), r->value("bytes", 0ull),
               r->value("sha256", std::string()));
  return 0;
}

}  // namespace

int keel_backup(const backup_cli& o) {
  if (o.out.empty()) return fail("backup", "--out FILE is required");
  auto out = fs::absolute(o.out).lexically_normal().string();
  if (o.with_key)
    std::fprintf(stderr, "keel backup: warning: --with-key puts the vault key in the backup; whoever has the file can "
                         "read every stored secret: keep it as safe as the key itself\n");
  std::error_code ec;
  if (!fs::exists(fs::path(o.data_dir), ec))
    return fail("backup", "no data dir " + o.data_dir + "; pass the node's --data-dir");
  if (node_running(o.data_dir)) return backup_through_node(o, out);
  auto db = store::open(o.data_dir);
  if (!db) return fail("backup", db.err().message);
  backup_options opts{out, o.with_key ? (fs::path(o.data_dir) / "vault.key").string() : std::string(), progress_line("backup")};
  if (o.with_key && !fs::exists(opts.vault_key_file, ec))
    return fail("backup", "no vault key at " + opts.vault_key_file +
                              ": with secrets.key_file or a passphrase the key is not in the data dir; keep it safe yourself "
                              "and back up without --with-key");
  auto rep = write_backup(**db, opts);
  end_progress();
  if (!rep) return fail("backup", rep.err().message);
  print_report("backed up to", out, rep->keys, rep->files, rep->bytes, rep->sha256);
  if (!rep->with_key)
    std::printf("the vault key is not in it: keep %s/vault.key (or your secrets.key_file) safe apart from the backup\n",
                o.data_dir.c_str());
  return 0;
}

int keel_restore(const backup_cli& o) {
  if (o.file.empty()) return fail("restore", "give the backup file: keel restore FILE --data-dir NEW");
  auto rep = restore_backup(o.file, o.data_dir, progress_line("restore"));
  end_progress();
  if (!rep) return fail("restore", rep.err().message);
  print_report("restored into", o.data_dir, rep->keys, rep->files, rep->bytes, rep->sha256);
  if (!rep->with_key)
    std::printf("the backup holds no vault key: copy the old vault.key into %s (or point secrets.key_file at it) before "
                "starting a node there, or its secrets cannot be read\n",
                o.data_dir.c_str());
  std::printf("start a node on it: keel node --data-dir %s (the memory's vector index is rebuilt at its first start)\n",
              o.data_dir.c_str());
  return 0;
}

}  // namespace keel
