// A stopped node's store read offline, and the check that a secret's
// plaintext is nowhere a run could have put it.
#pragma once

#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <vector>

#include "storage/store.hpp"
#include "tests/integration/file_checks.hpp"
#include "tests/support/process.hpp"

namespace keel::test {

// Every key and value of a stopped node's store (LevelDB blocks may be
// compressed, so a byte grep of the files alone could miss a plaintext).
inline std::map<std::string, std::string> dump_store(const std::string& data_dir) {
  std::map<std::string, std::string> out;
  auto db = store::open(data_dir);
  BOOST_REQUIRE_MESSAGE(db.ok(), "cannot open the store offline: " << (db.ok() ? "" : db.err().message));
  auto scanned = (*db)->scan("", [&](const std::string& k, const std::string& v) {
    out[k] = v;
    return true;
  });
  BOOST_REQUIRE_MESSAGE(scanned.ok(), "cannot scan the store offline: " << (scanned.ok() ? "" : scanned.err().message));
  return out;
}

// After a run that used `secret`: it is in no keelctl output, in no file
// under `root` except the test's own input files (under /input/), and in
// no key or value of the stopped node's store at `data_dir`.
inline void expect_plaintext_nowhere(const std::string& secret, const std::vector<command_result>& outputs,
                                     const std::string& root, const std::string& data_dir) {
  for (const auto& o : outputs) {
    BOOST_TEST(!has(o.out, secret), o.out);
    BOOST_TEST(!has(o.err, secret), o.err);
  }
  for (const auto& f : files_containing(root, secret)) BOOST_TEST(has(f, "/input/"), "the plaintext is in " << f);
  for (const auto& [k, v] : dump_store(data_dir)) {
    BOOST_TEST(!has(k, secret), "store key " << k);
    BOOST_TEST(!has(v, secret), "store value of " << k);
  }
}

}  // namespace keel::test
