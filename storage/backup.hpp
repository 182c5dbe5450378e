// Backups of a node's data dir, taken while the node runs, and restoring
// one into a new dir.
//
// A backup is one file: every LevelDB key and value as of one moment (a
// single iterator, which reads LevelDB's implicit snapshot, so writes that
// land during the walk are not in it and nothing is half-written), then the
// small files beside the database a node needs: authorized_keys.json,
// node.pub and keys/. The memory's vector index files are left out: a node
// rebuilds them from LevelDB when they are missing. The vault key is in it
// only when asked for: a backup with the key opens every stored secret.
//
// Format, version 1 (integers big-endian):
//   "KEELBAK1"
//   records: u8 kind ('k' a LevelDB pair, 'f' a file), u32 name length,
//            name, u64 value length, value
//   u8 'e', u64 number of records, the SHA-256 of every byte before the 'e'
// A file cut short or changed anywhere fails the check at restore, which
// reads the whole file before it writes anything.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/base/error.hpp"
#include "storage/store.hpp"

namespace keel {

struct backup_report {
  std::uint64_t keys = 0;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;   // of the backup file
  std::string sha256;        // of the backup, as in its trailer (hex)
  bool with_key = false;
};

// Called every 64 MiB written or read, and once at the end: (keys, bytes).
using backup_progress = std::function<void(std::uint64_t, std::uint64_t)>;

struct backup_options {
  std::string out;                 // the backup file; must not exist yet
  std::string vault_key_file;      // non-empty: put this file in as the vault key
  backup_progress progress;
};

// The files of `data_dir` a backup carries beside LevelDB: (name in the
// backup, path), for those that exist.
std::vector<std::pair<std::string, std::string>> backup_side_files(const std::string& data_dir);

// Writes OUT.partial (mode 0600), then renames it to OUT. Errors: conflict
// (OUT exists), io (naming the path), not_found (the vault key file).
result<backup_report> write_backup(const store& db, const backup_options& opts);

// Restores `file` into `data_dir`, which must not exist or be empty. The
// whole file is checked first; a damaged one changes nothing. Errors:
// bad_request ("FILE is not a Keel backup", "... is damaged: ..."),
// conflict (data_dir holds files), io.
result<backup_report> restore_backup(const std::string& file, const std::string& data_dir, const backup_progress& progress = {});

}  // namespace keel
