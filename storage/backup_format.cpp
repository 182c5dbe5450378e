#include "storage/backup_format.hpp"

#include <algorithm>

namespace keel {

namespace {

constexpr std::uint64_t max_name = 1u << 20;
constexpr std::uint64_t max_value = 1ull << 32;  // nothing a node stores comes near it

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_be(std::string_view p) {
  std::uint64_t v = 0;
  for (unsigned char c : p) v = (v << 8) | c;
  return v;
}

}  // namespace

bool backup_encoder::write(std::string_view bytes, bool hashed) {
  if (hashed) hash_.update(bytes);
  bytes_ += bytes.size();
  return out_(bytes);
}

bool backup_encoder::begin() { return write(backup_magic, true); }

bool backup_encoder::record(char kind, std::string_view name, std::string_view value) {
  head_.clear();
  head_.push_back(kind);
  put_be(head_, name.size(), 4);
  head_.append(name);
  put_be(head_, value.size(), 8);
  ++records_;
  return write(head_, true) && write(value, true);
}

bool backup_encoder::finish() {
  std::string tail(1, 'e');
  put_be(tail, records_, 8);
  digest_ = hash_.digest();
  tail += digest_;
  return write(tail, false);
}

// In pieces of at most 1 MiB: a length read from a damaged file is never
// allocated before the bytes are there.
bool backup_decoder::read(std::string& out, std::size_t n, bool hashed) {
  out.clear();
  while (out.size() < n) {
    auto piece = std::min<std::size_t>(n - out.size(), 1u << 20);
    auto at = out.size();
    out.resize(at + piece);
    if (!in_(out.data() + at, piece)) return false;
  }
  if (hashed) hash_.update(out);
  bytes_ += n;
  return true;
}

error backup_decoder::damaged(const std::string& why) const {
  return error{errc::bad_request, what_ + " is damaged: " + why + "; it cannot be restored (take a new backup)"};
}

result<std::optional<backup_record>> backup_decoder::next() {
  if (ended_) return std::optional<backup_record>{};
  std::string head, len;
  if (!started_) {
    if (!read(head, backup_magic.size(), true) || head != backup_magic)
      return error{errc::bad_request, what_ + " is not a Keel backup (no KEELBAK1 header)"};
    started_ = true;
  }
  if (!read(head, 1, false)) return damaged("it ends without its trailer (cut short?)");
  if (head[0] == 'e') {
    std::string count, digest;
    if (!read(count, 8, false) || !read(digest, 32, false)) return damaged("its trailer is cut short");
    char extra;
    if (in_(&extra, 1)) return damaged("bytes after the trailer");
    if (get_be(count) != records_) return damaged("the record count does not match");
    if (hash_.digest() != digest) return damaged("the checksum does not match");
    digest_ = digest;
    ended_ = true;
    return std::optional<backup_record>{};
  }
  if (head[0] != 'k' && head[0] != 'f') return damaged("unknown record kind at byte " + std::to_string(bytes_ - 1));
  hash_.update(head);
  backup_record rec;
  rec.kind = head[0];
  if (!read(len, 4, true)) return damaged("cut short in a record");
  auto name_len = get_be(len);
  if (name_len > max_name || !read(rec.name, name_len, true) || !read(len, 8, true)) return damaged("cut short in a record");
  auto value_len = get_be(len);
  if (value_len > max_value || !read(rec.value, value_len, true)) return damaged("cut short in a record");
  ++records_;
  return std::optional<backup_record>{std::move(rec)};
}

}  // namespace keel
