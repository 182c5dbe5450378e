// The secrets vault: named secrets encrypted at rest in the node's LevelDB.
//
// Each secret is sealed with XChaCha20-Poly1305 (libsodium AEAD, a random
// 192-bit nonce per write, the secret's name as associated data so a record
// cannot be moved to another name). The 256-bit vault key comes from either
//   - a key file (64 hex characters, created 0600 on first open), or
//   - a passphrase, stretched with crypto_pwhash (Argon2id; salt and limits
//     are stored in the vault's meta record).
// The meta record also holds a key check value: a known text sealed with the
// key. Opening with a wrong key, or without the key file once secrets exist,
// fails with errc::forbidden and writes nothing; the vault never generates a
// new key over existing data.
//
// Key layout:  ctl/vault/meta          {format, kdf, salt, limits, check}
//              ctl/secret/<name>       {created_ms, rotated_ms, version, sealed}
//
// Thread-safety: a vault is safe for concurrent use. It holds the key and
// (in its redactor) the plaintexts in memory; both are wiped on destruction.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/control/redactor.hpp"
#include "runtime/base/error.hpp"
#include "runtime/base/secret_ref.hpp"
#include "storage/store.hpp"

namespace keel::control {

struct vault_key_source {
  std::string key_file;    // used when passphrase is empty
  std::string passphrase;  // non-empty: derive the key from it instead
};

struct secret_info {
  std::string name;
  std::int64_t created_ms = 0;
  std::int64_t rotated_ms = 0;  // equals created_ms until the first rotation
  std::uint32_t version = 1;    // 1 + number of rotations
};

using keel::secret_ref_name;
// Names are 1..128 of [A-Za-z0-9_.-]; the error says so.
status check_secret_name(const std::string& name);

class secret_vault {
 public:
  // Opens the vault in `db`, creating its key (file) on first use.
  // Errors: forbidden for a wrong or missing key over existing secrets,
  // config for a key file that is not 64 hex characters or is readable by
  // others, io for storage failures. On error nothing was written.
  static result<std::unique_ptr<secret_vault>> open(store& db, const vault_key_source& key);

  secret_vault(const secret_vault&) = delete;
  secret_vault& operator=(const secret_vault&) = delete;
  ~secret_vault();

  // Stores `plaintext` under `name`, creating it (version 1) or rotating it.
  // Errors: bad_request for a bad name or a value under redactor::min_length
  // bytes (it could not be redacted reliably); io.
  status set(const std::string& name, const std::string& plaintext);
  // Replaces an existing secret; not_found if there is none by that name.
  status rotate(const std::string& name, const std::string& plaintext);
  // The plaintext; not_found if absent, forbidden if the record fails to
  // authenticate (it was altered or moved).
  result<std::string> get(const std::string& name) const;
  // Names and times in name order; never values.
  std::vector<secret_info> list() const;
  // It is not an error if the secret did not exist.
  status remove(const std::string& name);

  // "secret://NAME" -> the plaintext; any other string is returned as is.
  result<std::string> resolve(const std::string& value) const;

  // Knows every plaintext in the vault: pass it to the audit log, the span
  // store and loggers. Valid as long as the vault lives.
  const std::shared_ptr<redactor>& redactions() const { return redactor_; }

 private:
  secret_vault(store& db) : db_(db), redactor_(std::make_shared<redactor>()) {}
  result<std::string> open_record(const std::string& name, const std::string& record) const;
  status write_secret(const std::string& name, const std::string& plaintext, bool must_exist);

  store& db_;
  std::array<unsigned char, 32> key_{};
  std::shared_ptr<redactor> redactor_;
  mutable std::mutex mu_;  // serialises writers (read-modify-write of records)
};

}  // namespace keel::control
