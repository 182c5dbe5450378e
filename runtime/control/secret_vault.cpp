// The vault's implementation: key sourcing (file or passphrase), the key
// check value, and sealing/opening records. See secret_vault.hpp.
#include "runtime/control/secret_vault.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "runtime/base/crypto.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/hex.hpp"

namespace keel::control {
namespace {

const std::string meta_key = "ctl/vault/meta";
const std::string secret_prefix = "ctl/secret/";
const std::string check_text = "keel-vault-check-v1";
constexpr std::size_t nonce_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
using vault_key = std::array<unsigned char, 32>;

std::string seal(const vault_key& key, const std::string& plaintext, const std::string& ad) {
  std::string out(nonce_len + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(p, nonce_len);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(p + nonce_len, &clen,
                                             reinterpret_cast<const unsigned char*>(plaintext.data()),
                                             plaintext.size(), reinterpret_cast<const unsigned char*>(ad.data()),
                                             ad.size(), nullptr, p, key.data());
  out.resize(nonce_len + clen);
  return out;
}

// nullopt when the box does not authenticate under `key` and `ad`.
std::optional<std::string> unseal(const vault_key& key, const std::string& box, const std::string& ad) {
  if (box.size() < nonce_len + crypto_aead_xchacha20poly1305_ietf_ABYTES) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(box.data());
  std::string out(box.size() - nonce_len - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &mlen, nullptr,
                                                 p + nonce_len, box.size() - nonce_len,
                                                 reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), p,
                                                 key.data()) != 0)
    return std::nullopt;
  out.resize(mlen);
  return out;
}

result<std::optional<vault_key>> read_key_file(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return std::optional<vault_key>{};
  if (st.st_mode & 077)
    return error{errc::config, "vault key file " + path + " is readable by other users; run `chmod 600 " + path +
                                   "` and start again"};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error{errc::io, "cannot read vault key file " + path};
  std::string text(256, '\0');
  auto n = ::read(fd, text.data(), text.size());
  ::close(fd);
  text.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  auto raw = from_hex(text);
  wipe(text);
  if (!raw || raw->size() != 32)
    return error{errc::config, "vault key file " + path + " is not a vault key (expected 64 hex characters); "
                               "restore the right file from your backup"};
  vault_key k{};
  std::copy(raw->begin(), raw->end(), k.begin());
  wipe(*raw);
  return std::optional<vault_key>(k);
}

status create_key_file(const std::string& path, vault_key& key) {
  randombytes_buf(key.data(), key.size());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return error{errc::io, "cannot create vault key file " + path + " (does its directory exist?)"};
  auto text = to_hex(std::string_view(reinterpret_cast<const char*>(key.data()), key.size())) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  wipe(text);
  if (!ok) {
    ::unlink(path.c_str());
    return error{errc::io, "cannot write vault key file " + path};
  }
  return ok_v;
}

status derive_key(const std::string& passphrase, const std::string& salt, unsigned long long ops, std::size_t mem,
                  vault_key& key) {
  if (salt.size() != crypto_pwhash_SALTBYTES) return error{errc::config, "vault meta record has a bad salt"};
  if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(),
                    reinterpret_cast<const unsigned char*>(salt.data()), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return error{errc::internal, "passphrase key derivation ran out of memory"};
  return ok_v;
}

}  // namespace

status check_secret_name(const std::string& name) {
  if (!valid_secret_name(name))
    return error{errc::bad_request, "'" + name.substr(0, 64) +
                                        "' is not a secret name: use 1..128 letters, digits, '_', '.' or '-'"};
  return ok_v;
}

result<std::unique_ptr<secret_vault>> secret_vault::open(store& db, const vault_key_source& src) {
  if (!crypto_ready()) return error{errc::internal, "libsodium failed to initialise"};
  if (src.passphrase.empty() && src.key_file.empty())
    return error{errc::config, "the vault needs a key file or a passphrase"};
  std::unique_ptr<secret_vault> v(new secret_vault(db));
  auto meta_raw = db.get(meta_key);
  if (!meta_raw) return meta_raw.err();
  std::size_t existing = 0;
  auto counted = db.scan(secret_prefix, [&](const std::string&, const std::string&) { return ++existing, true; });
  if (!counted) return counted.err();

  if (!*meta_raw) {
    if (existing)
      return error{errc::forbidden, "the vault's meta record is missing but " + std::to_string(existing) +
                                        " secrets exist; restore the data dir from a backup (nothing was changed)"};
    nlohmann::json meta = {{"format", 1}};
    if (!src.passphrase.empty()) {
      std::string salt(crypto_pwhash_SALTBYTES, '\0');
      randombytes_buf(salt.data(), salt.size());
      auto ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
      auto mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
      if (auto s = derive_key(src.passphrase, salt, ops, mem, v->key_); !s) return s.err();
      meta.update({{"kdf", "argon2id"}, {"salt", to_hex(salt)}, {"ops", ops}, {"mem", mem}});
    } else {
      auto existing_key = read_key_file(src.key_file);
      if (!existing_key) return existing_key.err();
      if (*existing_key) v->key_ = **existing_key;
      else if (auto s = create_key_file(src.key_file, v->key_); !s) return s.err();
      meta["kdf"] = "key_file";
    }
    meta["check"] = to_base64(seal(v->key_, check_text, meta_key));
    if (auto s = db.put(meta_key, meta.dump(), true); !s) return s.err();
    return v;
  }

  nlohmann::json meta = nlohmann::json::parse(**meta_raw, nullptr, false);
  if (!meta.is_object() || !meta.contains("check") || !meta.contains("kdf"))
    return error{errc::forbidden, "the vault's meta record is damaged; restore the data dir from a backup"};
  auto kdf = meta.value("kdf", "");
  if (kdf == "argon2id") {
    if (src.passphrase.empty())
      return error{errc::forbidden, "this vault was created with a passphrase; supply the passphrase, not a key file "
                                    "(nothing was changed)"};
    auto salt = from_hex(meta.value("salt", ""));
    if (!salt) return error{errc::forbidden, "the vault's meta record has a damaged salt"};
    if (auto s = derive_key(src.passphrase, *salt, meta.value("ops", 0ull), meta.value("mem", std::size_t{0}), v->key_);
        !s)
      return s.err();
  } else {
    if (!src.passphrase.empty())
      return error{errc::forbidden, "this vault was created with a key file; supply the key file " +
                                        std::string("(vault.key_file), not a passphrase (nothing was changed)")};
    auto k = read_key_file(src.key_file);
    if (!k) return k.err();
    if (!*k)
      return error{errc::forbidden, "vault key file " + src.key_file + " is missing but the vault holds " +
                                        std::to_string(existing) +
                                        " secrets; restore the key file from your backup (a new key is never "
                                        "generated over existing secrets; nothing was changed)"};
    v->key_ = **k;
  }
  auto check = from_base64(meta.value("check", ""));
  if (!check || !unseal(v->key_, *check, meta_key))
    return error{errc::forbidden, std::string(kdf == "argon2id" ? "wrong vault passphrase" : "wrong vault key file " +
                                                                                              src.key_file) +
                                      ": it does not open this vault's check value; use the key this data dir "
                                      "was created with (nothing was changed)"};
  // Teach the redactor every plaintext now, so a secret that arrives by
  // another path (a webhook body, an action result) is redacted too.
  auto s = db.scan(secret_prefix, [&](const std::string& k, const std::string& rec) {
    auto name = k.substr(secret_prefix.size());
    if (auto p = v->open_record(name, rec)) {
      v->redactor_->learn(name, *p);
      wipe(*p);
    }
    return true;
  });
  if (!s) return s.err();
  return v;
}

secret_vault::~secret_vault() { sodium_memzero(key_.data(), key_.size()); }

result<std::string> secret_vault::open_record(const std::string& name, const std::string& record) const {
  auto j = nlohmann::json::parse(record, nullptr, false);
  auto box = j.is_object() ? from_base64(j.value("sealed", "")) : std::nullopt;
  auto plain = box ? unseal(key_, *box, secret_prefix + name) : std::nullopt;
  if (!plain)
    return error{errc::forbidden, "secret '" + name + "' does not authenticate (its record was altered); set it "
                                  "again with `keelctl secrets set " + name + "`"};
  return std::move(*plain);
}

status secret_vault::write_secret(const std::string& name, const std::string& plaintext, bool must_exist) {
  if (auto s = check_secret_name(name); !s) return s;
  if (plaintext.size() < redactor::min_length)
    return error{errc::bad_request, "secret '" + name + "' is shorter than " + std::to_string(redactor::min_length) +
                                        " bytes; such values cannot be redacted reliably"};
  std::lock_guard g(mu_);
  auto old = db_.get(secret_prefix + name);
  if (!old) return old.err();
  if (must_exist && !*old)
    return error{errc::not_found, "no secret named '" + name + "'; see `keelctl secrets list`"};
  auto now = unix_now_ms();
  nlohmann::json rec = {{"created_ms", now}, {"rotated_ms", now}, {"version", 1}};
  if (*old) {
    auto prev = nlohmann::json::parse(**old, nullptr, false);
    if (prev.is_object()) {
      rec["created_ms"] = prev.value("created_ms", now);
      rec["version"] = prev.value("version", 1) + 1;
    }
  }
  rec["sealed"] = to_base64(seal(key_, plaintext, secret_prefix + name));
  if (auto s = db_.put(secret_prefix + name, rec.dump(), true); !s) return s;
  redactor_->learn(name, plaintext);
  return ok_v;
}

status secret_vault::set(const std::string& name, const std::string& plaintext) {
  return write_secret(name, plaintext, false);
}

status secret_vault::rotate(const std::string& name, const std::string& plaintext) {
  return write_secret(name, plaintext, true);
}

result<std::string> secret_vault::get(const std::string& name) const {
  if (auto s = check_secret_name(name); !s) return s.err();
  auto rec = db_.get(secret_prefix + name);
  if (!rec) return rec.err();
  if (!*rec) return error{errc::not_found, "no secret named '" + name + "'; add it with `keelctl secrets set " + name + "`"};
  return open_record(name, **rec);
}

std::vector<secret_info> secret_vault::list() const {
  std::vector<secret_info> out;
  (void)db_.scan(secret_prefix, [&](const std::string& k, const std::string& v) {
    auto j = nlohmann::json::parse(v, nullptr, false);
    secret_info i;
    i.name = k.substr(secret_prefix.size());
    if (j.is_object()) {
      i.created_ms = j.value("created_ms", std::int64_t{0});
      i.rotated_ms = j.value("rotated_ms", i.created_ms);
      i.version = j.value("version", 1u);
    }
    out.push_back(std::move(i));
    return true;
  });
  return out;
}

status secret_vault::remove(const std::string& name) {
  if (auto s = check_secret_name(name); !s) return s;
  std::lock_guard g(mu_);
  const std::string key = secret_prefix + name;
  write_batch b;
  b.del(key);
  if (auto s = db_.write(b, true); !s) return s;
  redactor_->forget(name);
  return ok_v;
}

result<std::string> secret_vault::resolve(const std::string& value) const {
  auto name = secret_ref_name(value);
  if (name.empty()) return value;
  return get(name);
}

}  // namespace keel::control
