// Backups of a real data dir: a round trip keeps every key and side file,
// the vault key only when asked; a backup never overwrites, a restore never
// mixes into existing data, and a cut, changed or forged file is refused
// before anything is written.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include "runtime/base/crypto.hpp"
#include "storage/backup.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using keel::test::has;
using keel::test::temp_dir;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void spit(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::map<std::string, std::string> everything(const store& db) {
  std::map<std::string, std::string> out;
  BOOST_REQUIRE(db.scan("", [&](const std::string& k, const std::string& v) {
    out[k] = v;
    return true;
  }).ok());
  return out;
}

std::string restore_error(const std::string& file, const std::string& into) {
  auto r = restore_backup(file, into);
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected " << file << " to be refused");
  return r.err().message;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(backup_test)

BOOST_AUTO_TEST_CASE(a_round_trip_keeps_every_key_and_the_key_only_when_asked) {
  temp_dir dir;
  std::map<std::string, std::string> before;
  {
    auto db = store::open(dir / "data");
    BOOST_REQUIRE(db.ok());
    for (int i = 0; i < 500; ++i) BOOST_REQUIRE((*db)->put("k/" + std::to_string(i), std::string(i, 'x') + '\0' + "tail").ok());
    spit(dir / "data/authorized_keys.json", "{\"keys\": []}");
    std::filesystem::create_directories(dir / "data/keys");
    spit(dir / "data/keys/admin.key", "secret pair");
    spit(dir / "data/vault.key", "the vault key");
    spit(dir / "data/memory.hnsw", "rebuilt, not backed up");
    auto plain = write_backup(**db, {dir / "plain.bak", "", {}});
    BOOST_REQUIRE_MESSAGE(plain.ok(), (plain ? "" : plain.err().message));
    BOOST_TEST(plain->keys >= 500u);
    BOOST_TEST(plain->files == 2u);
    BOOST_TEST(!plain->with_key);
    BOOST_TEST(slurp(dir / "plain.bak").find("the vault key") == std::string::npos);
    auto keyed = write_backup(**db, {dir / "keyed.bak", dir / "data/vault.key", {}});
    BOOST_REQUIRE(keyed.ok());
    BOOST_TEST(keyed->with_key);
    auto again = write_backup(**db, {dir / "plain.bak", "", {}});
    BOOST_REQUIRE(!again.ok());
    BOOST_TEST(has(again.err().message, "exists; give a new file name"));
    before = everything(**db);
  }
  auto r = restore_backup(dir / "keyed.bak", dir / "restored");
  BOOST_REQUIRE_MESSAGE(r.ok(), (r ? "" : r.err().message));
  BOOST_TEST(r->with_key);
  BOOST_TEST(slurp(dir / "restored/vault.key") == "the vault key");
  BOOST_TEST(slurp(dir / "restored/keys/admin.key") == "secret pair");
  BOOST_TEST(!std::filesystem::exists(dir / "restored/memory.hnsw"));
  BOOST_TEST(((std::filesystem::status(dir / "restored/vault.key").permissions() & std::filesystem::perms::group_all) ==
              std::filesystem::perms::none));
  {
    auto db = store::open(dir / "restored");
    BOOST_REQUIRE(db.ok());
    auto after = everything(**db);
    after.erase("meta/identity");  // a node's start count moves on each open
    before.erase("meta/identity");
    BOOST_TEST(after == before);
  }
  auto plain = restore_backup(dir / "plain.bak", dir / "restored2");
  BOOST_REQUIRE(plain.ok());
  BOOST_TEST(!plain->with_key);
  BOOST_TEST(!std::filesystem::exists(dir / "restored2/vault.key"));
  BOOST_TEST(has(restore_error(dir / "plain.bak", dir / "restored"), "is not empty; restore into a new directory"));
}

BOOST_AUTO_TEST_CASE(damaged_or_forged_files_change_nothing) {
  temp_dir dir;
  {
    auto db = store::open(dir / "data");
    BOOST_REQUIRE(db.ok());
    for (int i = 0; i < 50; ++i) BOOST_REQUIRE((*db)->put("k/" + std::to_string(i), "value " + std::to_string(i)).ok());
    BOOST_REQUIRE(write_backup(**db, {dir / "good.bak", "", {}}).ok());
  }
  auto good = slurp(dir / "good.bak");
  spit(dir / "cut.bak", good.substr(0, good.size() / 2));
  BOOST_TEST(has(restore_error(dir / "cut.bak", dir / "r1"), "is damaged"));
  auto flipped = good;
  flipped[good.size() / 3] ^= 1;
  spit(dir / "flipped.bak", flipped);
  BOOST_TEST(has(restore_error(dir / "flipped.bak", dir / "r2"), "is damaged"));
  spit(dir / "extra.bak", good + "x");
  BOOST_TEST(has(restore_error(dir / "extra.bak", dir / "r3"), "bytes after the trailer"));
  spit(dir / "other.bak", "SQLite format 3\0 and more");
  BOOST_TEST(has(restore_error(dir / "other.bak", dir / "r4"), "is not a Keel backup"));
  BOOST_TEST(has(restore_error(dir / "missing.bak", dir / "r5"), "cannot open"));
  // A well-formed file naming a path outside the data dir: hand-made, with
  // a correct checksum, still refused.
  {
    std::string body = "KEELBAK1";
    std::string rec = "f";
    std::string name = "../escape";
    rec += std::string("\0\0\0", 3) + static_cast<char>(name.size()) + name + std::string(7, '\0') + '\x02' + "hi";
    body += rec;
    // the trailer's checksum comes from the library's own writer format
    auto digest_of = [](const std::string& bytes) {
      keel::control::sha256_stream h;
      h.update(bytes);
      return h.digest();
    };
    spit(dir / "forged.bak", body + "e" + std::string(7, '\0') + '\x01' + digest_of(body));
  }
  BOOST_TEST(has(restore_error(dir / "forged.bak", dir / "r6"), "names a file outside the data dir"));
  for (const char* r : {"r1", "r2", "r3", "r4", "r5", "r6"}) BOOST_TEST(!std::filesystem::exists(dir / r), r);
  BOOST_TEST(!std::filesystem::exists(dir.path() + "/escape"));
}

BOOST_AUTO_TEST_SUITE_END()
