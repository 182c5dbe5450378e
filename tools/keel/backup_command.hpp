// `keel backup` and `keel restore` (storage/backup.hpp).
//
// backup: with no node on the data dir, the backup is read from it
// directly. While a node holds it, the node writes the backup itself
// (admin op `backup`, reached at DIR/node.endpoint with the admin key in
// DIR/keys), so the snapshot is consistent with what it is doing.
// restore: into a new, empty data dir; a node started there rebuilds the
// memory's vector index at its first start.
#pragma once

#include <string>

namespace keel {

struct backup_cli {
  std::string data_dir = "./keel-data";
  std::string out;        // backup: the file to write
  std::string file;       // restore: the backup to read
  bool with_key = false;  // backup: put the vault key in (warned about)
};

int keel_backup(const backup_cli& o);
int keel_restore(const backup_cli& o);

}  // namespace keel
