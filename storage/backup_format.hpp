// The bytes of a backup file (storage/backup.hpp has the layout): an
// encoder that writes records and the trailer through a sink, hashing as
// it goes, and a decoder that reads them back from a source and checks the
// framing, the record count and the checksum. Pure: no files, no store
// (the fuzz target compiles it alone).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/base/crypto.hpp"
#include "runtime/base/error.hpp"

namespace keel {

inline constexpr std::string_view backup_magic = "KEELBAK1";

struct backup_record {
  char kind = 'k';  // 'k' a LevelDB pair, 'f' a side file
  std::string name;
  std::string value;
};

class backup_encoder {
 public:
  using sink = std::function<bool(std::string_view)>;  // false: the write failed
  explicit backup_encoder(sink out) : out_(std::move(out)) {}
  bool begin();  // the header
  bool record(char kind, std::string_view name, std::string_view value);
  bool finish();  // the trailer; call once
  std::uint64_t bytes() const { return bytes_; }
  const std::string& digest() const { return digest_; }  // 32 raw bytes, after finish()

 private:
  bool write(std::string_view bytes, bool hashed);
  sink out_;
  control::sha256_stream hash_;
  std::string head_, digest_;
  std::uint64_t bytes_ = 0, records_ = 0;
};

class backup_decoder {
 public:
  // Fills exactly n bytes, or returns false at the end of the input.
  using source = std::function<bool(char*, std::size_t)>;
  // `what` names the input in errors (the file's path).
  backup_decoder(source in, std::string what) : in_(std::move(in)), what_(std::move(what)) {}

  // The next record; nullopt once the trailer was read and checked (then
  // digest() is its checksum). Errors: bad_request, "WHAT is not a Keel
  // backup" or "WHAT is damaged: ...". A record is only trustworthy once
  // the whole input checked out.
  result<std::optional<backup_record>> next();
  std::uint64_t bytes() const { return bytes_; }
  const std::string& digest() const { return digest_; }

 private:
  bool read(std::string& out, std::size_t n, bool hashed);
  error damaged(const std::string& why) const;
  source in_;
  std::string what_;
  control::sha256_stream hash_;
  std::string digest_;
  std::uint64_t bytes_ = 0, records_ = 0;
  bool started_ = false, ended_ = false;
};

}  // namespace keel
