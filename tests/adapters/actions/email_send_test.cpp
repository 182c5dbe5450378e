// email.send over SMTP against Debian's aiosmtpd (python3-aiosmtpd, started
// by the test on 127.0.0.1 and a free port): the message as received, the
// Message-ID stable under the idempotency key, STARTTLS with a verified
// certificate and AUTH PLAIN, and the failures a caller must tell apart.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/actions/email_send.hpp"
#include "tests/support/test_cert.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/action_ctx.hpp"

using namespace keel;
using keel::test::action_ctx;
using namespace std::chrono_literals;

namespace {

struct smtp_sink {
  int port = keel::test::free_port();
  std::string out;
  std::unique_ptr<keel::test::process> proc;
  smtp_sink(const keel::test::temp_dir& dir, std::vector<std::string> args) : out(dir / "mail") {
    std::vector<std::string> argv{"/usr/bin/python3", KEEL_SOURCE_DIR "/tests/adapters/smtp_sink.py", "--port",
                                  std::to_string(port), "--out", out};
    argv.insert(argv.end(), args.begin(), args.end());
    proc = std::make_unique<keel::test::process>(argv, dir / "smtp.log");
    BOOST_REQUIRE_MESSAGE(keel::test::wait_until([&] { return std::ifstream(out + "/ready").good(); }, 15s),
                          "aiosmtpd did not start (is python3-aiosmtpd installed? tools/setup.sh --with-test-tools): " +
                              proc->log());
  }
  std::size_t count() const {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(out)) n += e.path().extension() == ".json";
    return n;
  }
  std::string message(int n) const {  // LF line ends, as written
    auto m = slurp(out + "/" + name(n) + ".eml");
    m.erase(std::remove(m.begin(), m.end(), '\r'), m.end());
    return m;
  }
  nlohmann::json meta(int n) const { return nlohmann::json::parse(slurp(out + "/" + name(n) + ".json")); }
  static std::string name(int n) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d", n);
    return buf;
  }
  static std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
};

std::string header(const std::string& message, const std::string& name) {
  auto msg = "\n" + message;
  auto at = msg.find("\n" + name + ": ");
  if (at == std::string::npos) return {};
  at += name.size() + 3;
  return msg.substr(at, msg.find_first_of("\r\n", at) - at);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(email_send_test)

BOOST_AUTO_TEST_CASE(sends_a_message_with_a_message_id_from_the_idempotency_key) {
  keel::test::temp_dir dir;
  smtp_sink sink(dir, {});
  email_spec spec;
  spec.smtp.port = sink.port;
  spec.default_from = "founder@tool.example";
  auto a = make_email_send_action(spec);
  nlohmann::json args = {{"to", "ada@example.com"}, {"subject", "Welcome, Ada"},
                         {"text", "Hello Ada,\n.\nA line with a lone dot above.\n"}};
  auto r = a->run(args, action_ctx("onboarding-1/welcome"));
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(sink.count() == 1u);
  auto msg = sink.message(1);
  BOOST_TEST(header(msg, "Subject") == "Welcome, Ada");
  BOOST_TEST(header(msg, "From") == "founder@tool.example");
  BOOST_TEST(header(msg, "Message-ID") == r.value()["message_id"].get<std::string>());
  BOOST_TEST(r.value()["message_id"] == message_id_for("onboarding-1/welcome", "founder@tool.example"));
  BOOST_TEST(msg.find("\n.\nA line with a lone dot") != std::string::npos);  // dot-stuffing undone by the server
  BOOST_TEST(sink.meta(1)["rcpt_tos"][0] == "ada@example.com");
  BOOST_TEST(sink.meta(1)["tls"] == false);

  // A re-delivery of the same step: same Message-ID. Another step: another.
  auto again = a->run(args, action_ctx("onboarding-1/welcome"));
  auto other = a->run(args, action_ctx("onboarding-2/welcome"));
  BOOST_REQUIRE(again.ok() && other.ok());
  BOOST_TEST(header(sink.message(2), "Message-ID") == header(msg, "Message-ID"));
  BOOST_TEST(header(sink.message(3), "Message-ID") != header(msg, "Message-ID"));
  BOOST_TEST(header(msg, "Message-ID").find("@tool.example>") != std::string::npos);

  // Non-ASCII text and subject are encoded; header injection is refused.
  auto utf8 = a->run({{"to", {"b@example.com", "c@example.com"}}, {"subject", "Grüße"}, {"text", "Schöne Grüße"}}, action_ctx("k3"));
  BOOST_REQUIRE(utf8.ok());
  BOOST_TEST(header(sink.message(4), "Subject").rfind("=?UTF-8?B?", 0) == 0);
  BOOST_TEST(sink.meta(4)["rcpt_tos"].size() == 2u);
  BOOST_TEST(a->run({{"to", "a@x.com"}, {"subject", "hi\r\nBcc: all@x.com"}}, action_ctx("k4")).err().code == errc::bad_request);
  BOOST_TEST(a->run({{"to", "a@x.com>\r\nRCPT TO:<b@x.com"}}, action_ctx("k5")).err().code == errc::bad_request);
  BOOST_TEST(a->run({{"subject", "no recipient"}}, action_ctx("k6")).err().code == errc::bad_request);
  BOOST_TEST(sink.count() == 4u);
}

BOOST_AUTO_TEST_CASE(starttls_with_a_verified_certificate_and_auth) {
  keel::test::temp_dir dir;
  auto tls = keel::test::make_test_cert(dir, "127.0.0.1");
  smtp_sink sink(dir, {"--cert", tls.cert, "--key", tls.key, "--user", "keel", "--password", "pa55word"});
  email_spec spec;
  spec.smtp.port = sink.port;
  spec.smtp.starttls = "required";
  spec.smtp.ca_file = tls.cert;
  spec.smtp.username = "keel";
  spec.smtp.password = "pa55word";
  spec.default_from = "ops@tool.example";
  auto r = make_email_send_action(spec)->run({{"to", "ada@example.com"}, {"subject", "s"}, {"text", "t"}}, action_ctx("tls-1"));
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r.value()["tls"] == true);
  BOOST_TEST(sink.meta(1)["tls"] == true);
  BOOST_TEST(sink.meta(1)["auth_user"] == "keel");

  // The password may come with the step instead (from the vault: secret://).
  auto from_vault = spec;
  from_vault.smtp.password.clear();
  auto r2 = make_email_send_action(from_vault)->run({{"to", "ada@example.com"}, {"smtp_password", "pa55word"}}, action_ctx("tls-5"));
  BOOST_REQUIRE_MESSAGE(r2.ok(), (r2.ok() ? "" : r2.err().message));
  BOOST_TEST(sink.meta(2)["auth_user"] == "keel");

  auto wrong = spec;
  wrong.smtp.password = "wrong-password";
  auto denied = make_email_send_action(wrong)->run({{"to", "a@example.com"}}, action_ctx("tls-2"));
  BOOST_TEST(denied.err().code == errc::forbidden);
  BOOST_TEST(denied.err().message.find("wrong-password") == std::string::npos);  // never the secret

  auto untrusted = spec;
  untrusted.smtp.ca_file.clear();  // the system store does not know our self-signed certificate
  auto refused = make_email_send_action(untrusted)->run({{"to", "a@example.com"}}, action_ctx("tls-3"));
  BOOST_TEST(refused.err().code == errc::unavailable);
  BOOST_TEST(refused.err().message.find("TLS handshake") != std::string::npos);

  auto plain = spec;
  plain.smtp.starttls = "off";  // credentials must not go out in clear
  BOOST_TEST(make_email_send_action(plain)->run({{"to", "a@example.com"}}, action_ctx("tls-4")).err().code == errc::forbidden);
  BOOST_TEST(sink.count() == 2u);
}

BOOST_AUTO_TEST_CASE(starttls_required_but_not_offered_and_no_server) {
  keel::test::temp_dir dir;
  smtp_sink sink(dir, {});
  email_spec spec;
  spec.smtp.port = sink.port;
  spec.smtp.starttls = "required";
  spec.default_from = "ops@tool.example";
  auto r = make_email_send_action(spec)->run({{"to", "a@example.com"}}, action_ctx("x"));
  BOOST_TEST(r.err().code == errc::config);
  BOOST_TEST(r.err().message.find("STARTTLS") != std::string::npos);
  spec.smtp.starttls = "off";
  spec.smtp.port = keel::test::free_port();
  BOOST_TEST(make_email_send_action(spec)->run({{"to", "a@example.com"}}, action_ctx("y")).err().code == errc::unavailable);
}

BOOST_AUTO_TEST_SUITE_END()
