// The secrets vault on a real LevelDB data dir: round trips, rotation, a
// wrong or lost key refused without touching anything, and plaintexts that
// never reach the disk, the audit trail or the span store.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/control/audit_log.hpp"
#include "runtime/control/secret_vault.hpp"
#include "runtime/control/span_store.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::control;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every byte of every file under `dir`, concatenated: what grep would see.
std::string raw_bytes_of(const std::string& dir) {
  std::string all;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) all += slurp(e.path().string());
  return all;
}

void write_key_file(const std::string& path, char fill) {
  std::ofstream(path) << std::string(64, fill) << "\n";
  ::chmod(path.c_str(), 0600);
}

using keel::test::has;

}  // namespace

BOOST_AUTO_TEST_SUITE(secret_vault_test)

BOOST_AUTO_TEST_CASE(round_trip_rotate_list_remove_and_resolve) {
  test::temp_dir dir("vault");
  auto key_file = dir / "vault.key";
  {
    auto db = store::open(dir / "data");
    BOOST_REQUIRE(db.ok());
    auto v = secret_vault::open(**db, {key_file, ""});
    BOOST_REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.err().message));
    struct stat st{};
    BOOST_REQUIRE(::stat(key_file.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600);

    BOOST_REQUIRE((*v)->set("stripe_api_key", "sk_live_abcdef123456").ok());
    BOOST_REQUIRE((*v)->set("smtp.password", "hunter2-but-longer").ok());
    BOOST_TEST((*v)->get("stripe_api_key").value() == "sk_live_abcdef123456");
    auto listed = (*v)->list();
    BOOST_REQUIRE(listed.size() == 2u);
    BOOST_TEST(listed[0].name == "smtp.password");
    BOOST_TEST(listed[1].version == 1u);

    BOOST_REQUIRE((*v)->rotate("stripe_api_key", "sk_live_rotated99999").ok());
    auto after = (*v)->list();
    BOOST_TEST(after[1].version == 2u);
    BOOST_TEST(after[1].created_ms == listed[1].created_ms);
    BOOST_TEST(after[1].rotated_ms >= listed[1].rotated_ms);
    BOOST_TEST((*v)->resolve("secret://stripe_api_key").value() == "sk_live_rotated99999");
    BOOST_TEST((*v)->resolve("plain value").value() == "plain value");

    auto missing = (*v)->rotate("nope", "whatever-value");
    BOOST_TEST(missing.err().code == errc::not_found);
    BOOST_TEST(has((*v)->get("nope").err().message, "keelctl secrets set nope"));
    BOOST_TEST((*v)->set("bad name!", "value-1234").err().code == errc::bad_request);
    BOOST_TEST(has((*v)->set("short", "abc").err().message, "cannot be redacted"));

    BOOST_REQUIRE((*v)->remove("smtp.password").ok());
    BOOST_REQUIRE((*v)->remove("smtp.password").ok());  // not an error twice
    BOOST_TEST((*v)->list().size() == 1u);
  }
  // A restart with the same key file reads what was written.
  auto db = store::open(dir / "data");
  BOOST_REQUIRE(db.ok());
  auto v = secret_vault::open(**db, {key_file, ""});
  BOOST_REQUIRE(v.ok());
  BOOST_TEST((*v)->get("stripe_api_key").value() == "sk_live_rotated99999");
  BOOST_TEST((*v)->redactions()->redact("key=sk_live_rotated99999") == "key=[redacted:stripe_api_key]");
}

BOOST_AUTO_TEST_CASE(wrong_or_lost_key_fails_clearly_and_touches_nothing) {
  test::temp_dir dir("vault");
  auto key_file = dir / "vault.key";
  std::string meta_before, secret_before;
  auto db = store::open(dir / "data");
  BOOST_REQUIRE(db.ok());
  {
    auto v = secret_vault::open(**db, {key_file, ""});
    BOOST_REQUIRE(v.ok());
    BOOST_REQUIRE((*v)->set("crm_token", "crm-token-value-777").ok());
  }
  meta_before = (*db)->get("ctl/vault/meta").value().value();
  secret_before = (*db)->get("ctl/secret/crm_token").value().value();
  auto original_key = slurp(key_file);

  // Another key file: refused, named, nothing changes.
  auto other = dir / "other.key";
  write_key_file(other, 'a');
  auto wrong = secret_vault::open(**db, {other, ""});
  BOOST_REQUIRE(!wrong.ok());
  BOOST_TEST(wrong.err().code == errc::forbidden);
  BOOST_TEST(has(wrong.err().message, "wrong vault key file " + other));
  BOOST_TEST(has(wrong.err().message, "nothing was changed"));
  BOOST_TEST(slurp(other) == std::string(64, 'a') + "\n");

  // The key file is gone: never regenerated over existing secrets.
  std::filesystem::rename(key_file, dir / "moved-away.key");
  auto lost = secret_vault::open(**db, {key_file, ""});
  BOOST_REQUIRE(!lost.ok());
  BOOST_TEST(has(lost.err().message, "is missing but the vault holds 1 secrets"));
  BOOST_TEST(!std::filesystem::exists(key_file));

  // A passphrase where a key file was used.
  auto pass = secret_vault::open(**db, {"", "correct horse"});
  BOOST_TEST(has(pass.err().message, "created with a key file"));

  // A key file others can read is refused before it is used.
  std::filesystem::rename(dir / "moved-away.key", key_file);
  ::chmod(key_file.c_str(), 0644);
  auto open_perm = secret_vault::open(**db, {key_file, ""});
  BOOST_TEST(has(open_perm.err().message, "chmod 600"));
  ::chmod(key_file.c_str(), 0600);

  BOOST_TEST((*db)->get("ctl/vault/meta").value().value() == meta_before);
  BOOST_TEST((*db)->get("ctl/secret/crm_token").value().value() == secret_before);
  BOOST_TEST(slurp(key_file) == original_key);
  auto ok = secret_vault::open(**db, {key_file, ""});
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST((*ok)->get("crm_token").value() == "crm-token-value-777");
}

BOOST_AUTO_TEST_CASE(passphrase_vault_and_an_altered_record) {
  test::temp_dir dir("vault");
  auto db = store::open(dir / "data");
  BOOST_REQUIRE(db.ok());
  {
    auto v = secret_vault::open(**db, {"", "correct horse battery staple"});
    BOOST_REQUIRE(v.ok());
    BOOST_REQUIRE((*v)->set("llm_key", "sk-test-0123456789").ok());
  }
  auto wrong = secret_vault::open(**db, {"", "Correct horse battery staple"});
  BOOST_TEST(has(wrong.err().message, "wrong vault passphrase"));
  auto keyfile = secret_vault::open(**db, {dir / "k", ""});
  BOOST_TEST(has(keyfile.err().message, "created with a passphrase"));
  BOOST_TEST(!std::filesystem::exists(dir / "k"));

  // A record moved to another name fails to authenticate (the name is bound in).
  auto rec = (*db)->get("ctl/secret/llm_key").value().value();
  BOOST_REQUIRE((*db)->put("ctl/secret/other_key", rec).ok());
  auto v = secret_vault::open(**db, {"", "correct horse battery staple"});
  BOOST_REQUIRE(v.ok());
  BOOST_TEST((*v)->get("llm_key").value() == "sk-test-0123456789");
  auto moved = (*v)->get("other_key");
  BOOST_TEST(moved.err().code == errc::forbidden);
  BOOST_TEST(has(moved.err().message, "does not authenticate"));
}

BOOST_AUTO_TEST_CASE(plaintext_never_reaches_the_data_dir_audit_or_spans) {
  test::temp_dir dir("vault");
  const std::string plaintext = "sk_live_PLAINTEXT_MARKER_4242";
  std::string audit_text, span_text;
  {
    auto db = store::open(dir / "data");
    BOOST_REQUIRE(db.ok());
    auto v = secret_vault::open(**db, {dir / "vault.key", ""});
    BOOST_REQUIRE(v.ok());
    BOOST_REQUIRE((*v)->set("stripe_api_key", plaintext).ok());
    auto used = (*v)->resolve("secret://stripe_api_key");
    BOOST_REQUIRE(used.ok());

    // Code that carelessly logs what it used: the trail and the spans redact it.
    auto audit = audit_log::open(**db, (*v)->redactions());
    BOOST_REQUIRE(audit.ok());
    BOOST_REQUIRE((*audit)->append("secret_use", "executor", "stripe_api_key",
                                   {{"header", "Bearer " + *used}, {*used, "as a key too"}})
                      .ok());
    auto spans = span_store::open(**db, {}, (*v)->redactions());
    BOOST_REQUIRE(spans.ok());
    span s;
    s.trace_id = "0123456789abcdef0123456789abcdef";
    s.span_id = "0123456789abcdef";
    s.name = "http call with " + *used;
    s.attributes = {{"http.request.header.authorization", "Bearer " + *used}};
    s.status_message = "failed: " + *used;
    BOOST_REQUIRE((*spans)->record(s).ok());

    auto entries = (*audit)->tail(10).value();
    for (const auto& e : entries) audit_text += e.to_json().dump();
    span_text = to_otlp_json((*spans)->trace(s.trace_id).value()).dump() +
                render_tree(build_tree((*spans)->trace(s.trace_id).value()));
    BOOST_TEST((*audit)->verify().value().ok);
  }
  BOOST_TEST(!has(audit_text, plaintext));
  BOOST_TEST(has(audit_text, "Bearer [redacted:stripe_api_key]"));
  BOOST_TEST(!has(span_text, plaintext));
  BOOST_TEST(has(span_text, "[redacted:stripe_api_key]"));

  auto raw = raw_bytes_of(dir / "data");
  BOOST_TEST(has(raw, "ctl/secret/stripe_api_key"));  // the scan really sees the records
  BOOST_TEST(!has(raw, plaintext));
  BOOST_TEST(!has(raw, "PLAINTEXT_MARKER"));
}

BOOST_AUTO_TEST_CASE(redactor_names_each_secret_and_walks_json) {
  redactor r;
  r.learn("long", "abcdefgh-long-secret");
  r.learn("inner", "abcdefgh");
  r.learn("tiny", "abc");  // too short to redact safely: ignored
  BOOST_TEST(r.size() == 2u);
  BOOST_TEST(r.redact("x abcdefgh-long-secret y abcdefgh z abc") ==
             "x [redacted:long] y [redacted:inner] z abc");
  nlohmann::json j = {{"abcdefgh", {1, "pre abcdefgh post"}}, {"n", 5}};
  auto out = r.redact_json(j);
  BOOST_TEST(out.dump() == R"({"[redacted:inner]":[1,"pre [redacted:inner] post"],"n":5})");
  BOOST_TEST(r.contains_secret("..abcdefgh.."));
  r.forget("inner");
  BOOST_TEST(!r.contains_secret("..abcdefgh.."));
}

BOOST_AUTO_TEST_SUITE_END()
