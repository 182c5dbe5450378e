// A self-signed certificate for 127.0.0.1, made by the openssl CLI: the
// tests' TLS servers present it, and their clients trust it as the CA.
#pragma once

#include <chrono>
#include <string>

#include <boost/test/unit_test.hpp>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace keel::test {

struct test_cert {
  std::string cert;  // PEM: the certificate, also the CA file to trust
  std::string key;   // PEM: its private key
};

// Writes <dir>/<name>.pem and <dir>/<name>.key (an EC key; CN = name,
// subjectAltName IP:127.0.0.1, valid two days). Fails the test when openssl cannot.
inline test_cert make_test_cert(const temp_dir& dir, const std::string& name) {
  test_cert c{dir / (name + ".pem"), dir / (name + ".key")};
  auto r = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", c.key, "-out", c.cert, "-days", "2", "-subj", "/CN=" + name, "-addext",
                        "subjectAltName=IP:127.0.0.1"},
                       std::chrono::seconds(30));
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  return c;
}

}  // namespace keel::test
