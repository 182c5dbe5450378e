// Inbound mail from a Maildir: plain, multipart with quoted-printable,
// encoded subjects, replies threaded by References; files move to cur/ only
// after the events are durable, and a message read twice is one event.
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "adapters/connectors/mail_message.hpp"
#include "adapters/connectors/maildir_connector.hpp"
#include "tests/adapters/connectors/connector_fixture.hpp"

using namespace keel;
using namespace keel::connectors;
using keel::test::connector_env;
namespace fs = std::filesystem;

namespace {

const std::string first_mail =
    "From: \"Ada Lovelace\" <Ada@Example.com>\r\n"
    "To: support@tool.example\r\n"
    "Subject: =?UTF-8?B?UGF5bWVudCBmYWlsZWQg4oCU?=\r\n =?UTF-8?Q?help_please?=\r\n"
    "Message-ID: <m1@example.com>\r\n"
    "Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "My card was declined =E2=80=94 twice. Can you re=\r\n"
    "try?\r\n"
    "--b1\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>html</p>\r\n"
    "--b1--\r\n";

const std::string reply =
    "From: support@tool.example\n"
    "To: ada@example.com\n"
    "Subject: Re: Payment failed\n"
    "Message-ID: <m2@tool.example>\n"
    "In-Reply-To: <m1@example.com>\n"
    "References: <m1@example.com>\n"
    "Date: Tue, 24 Nov 2026 11:00:00 +0000\n"
    "\n"
    "We retried it.\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(maildir_connector_test)

BOOST_AUTO_TEST_CASE(parses_headers_parts_and_encodings) {
  auto m = parse_mail(first_mail);
  BOOST_TEST(m.from == "ada@example.com");
  BOOST_TEST(m.from_name == "Ada Lovelace");
  BOOST_TEST(m.subject == "Payment failed \xE2\x80\x94help please");
  BOOST_TEST(m.text == "My card was declined \xE2\x80\x94 twice. Can you retry?");
  BOOST_TEST(m.thread_id == "<m1@example.com>");
  BOOST_TEST(m.date == "2026-11-24T09:00:00.000Z");
  auto r = parse_mail(reply);
  BOOST_TEST(r.thread_id == "<m1@example.com>");
  BOOST_TEST(r.text == "We retried it.");
  auto broken = parse_mail("garbage without headers");
  BOOST_TEST(broken.from.empty());
}

BOOST_AUTO_TEST_CASE(every_field_comes_out_as_utf8_whatever_the_charset) {
  // Latin-1 in an encoded word and in the body (declared), raw 8-bit bytes
  // in a header (undeclared), and an unknown charset.
  auto m = parse_mail(
      "From: =?ISO-8859-1?Q?Jos=E9_Garc=EDa?= <jose@example.com>\n"
      "Subject: Factura de \xE9nero\n"
      "To: =?x-unknown?B?/w==?= <a@b>\n"
      "Content-Type: text/plain; charset=\"windows-1252\"\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "\n"
      "Gr=FC=DFe =96 bis bald\n");
  BOOST_TEST(m.from_name == "Jos\xC3\xA9 Garc\xC3\xAD" "a");
  BOOST_TEST(m.text == "Gr\xC3\xBC\xC3\x9F" "e \xE2\x80\x93 bis bald");
  BOOST_TEST(m.subject == "Factura de \xEF\xBF\xBDnero");  // not guessed: marked
  BOOST_TEST(m.to == "\xEF\xBF\xBD <a@b>");
  BOOST_TEST(m.to_json().dump().size() > 0u);  // dump() throws on anything that is not UTF-8
}

BOOST_AUTO_TEST_CASE(new_mail_becomes_events_then_moves_to_cur) {
  connector_env env;
  auto box = env.dir / "Maildir";
  fs::create_directories(box + "/new");
  fs::create_directories(box + "/tmp");
  env.write_file("Maildir/new/1700000000.1.host", first_mail);
  env.write_file("Maildir/new/1700000001.2.host", reply);
  env.write_file("Maildir/new/1700000002.3.host", "Subject: no sender\n\nbody\n");
  auto c = make_maildir_connector({.name = "support_mail", .path = box, .mapping = default_mail_mapping()}, *env.inbox, *env.db);
  auto r = c->sync(false);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->events_out == 2u);
  BOOST_TEST(r->dead_lettered == 1u);  // no From: the reason says so
  BOOST_TEST(env.dlq->list(10)->at(0).reason.find("'from'") != std::string::npos);
  auto events = env.events();
  BOOST_REQUIRE(events.size() == 2u);
  BOOST_TEST(events[0]["type"] == "email.received");
  BOOST_TEST(events[0]["id"] == "<m1@example.com>");
  BOOST_TEST(events[0]["occurred_at"] == "2026-11-24T09:00:00.000Z");
  BOOST_TEST(events[0]["data"]["from"] == "ada@example.com");
  BOOST_TEST(events[1]["data"]["thread_id"] == "<m1@example.com>");
  BOOST_TEST(fs::is_empty(box + "/new"));
  BOOST_TEST(fs::exists(box + "/cur/1700000000.1.host:2,S"));

  // A crash between the commit and the move leaves a file in new/: read again, one event.
  fs::copy_file(box + "/cur/1700000001.2.host:2,S", box + "/new/1700000001.2.host");
  auto again = c->sync(false);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->duplicates == 1u);
  BOOST_TEST(env.events().size() == 2u);
  BOOST_TEST(c->state()->events_out == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
