// The CSV reader: RFC 4180 quoting, line ends, BOM, offsets that resume at
// record boundaries, and clear errors for unclosed quotes.
#include <boost/test/unit_test.hpp>

#include "adapters/connectors/csv_reader.hpp"

using namespace keel;
using namespace keel::connectors;

namespace {
std::vector<std::vector<std::string>> all(const std::string& text, std::vector<std::size_t>* ends = nullptr) {
  csv_reader r(text);
  std::vector<std::vector<std::string>> out;
  for (;;) {
    auto rec = r.next();
    BOOST_REQUIRE_MESSAGE(rec.ok(), (rec.ok() ? "" : rec.err().message));
    if (!rec.value()) break;
    out.push_back(rec.value()->fields);
    if (ends) ends->push_back(rec.value()->end_offset);
  }
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(csv_reader_test)

BOOST_AUTO_TEST_CASE(quotes_separators_and_line_breaks_inside_fields) {
  auto rows = all("\xEF\xBB\xBFid,name,note\r\n1,\"Lovelace, Ada\",\"said \"\"hi\"\"\"\r\n2,Bob,\"two\nlines\"\n\n3,,\n");
  BOOST_REQUIRE(rows.size() == 4u);
  BOOST_TEST(rows[0][0] == "id");  // the BOM is not part of the first column's name
  BOOST_TEST(rows[1][1] == "Lovelace, Ada");
  BOOST_TEST(rows[1][2] == "said \"hi\"");
  BOOST_TEST(rows[2][2] == "two\nlines");
  BOOST_TEST((rows[3] == std::vector<std::string>{"3", "", ""}));
}

BOOST_AUTO_TEST_CASE(offsets_resume_exactly_at_the_next_record) {
  std::string text = "a,b\n1,\"x\ny\"\n2,z\n3,w";
  std::vector<std::size_t> ends;
  auto rows = all(text, &ends);
  BOOST_REQUIRE(rows.size() == 4u);
  BOOST_TEST(ends.back() == text.size());  // a last record without its newline
  csv_reader resumed(text, ends[1], 4);
  auto next = resumed.next();
  BOOST_REQUIRE(next.ok());
  BOOST_TEST(next.value()->fields[0] == "2");
  BOOST_TEST(next.value()->line == 4u);
}

BOOST_AUTO_TEST_CASE(unclosed_quote_is_an_error_naming_the_line) {
  csv_reader r("a,b\n1,2\n3,\"open\n");
  BOOST_TEST(r.next().ok());
  BOOST_TEST(r.next().ok());
  auto bad = r.next();
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.err().message.find("line 3") != std::string::npos);
  BOOST_TEST(r.offset() == 8u);  // stays at the failed record
}

BOOST_AUTO_TEST_CASE(stray_quotes_in_unquoted_fields_are_kept) {
  auto rows = all("5\" screen,ok\n");
  BOOST_TEST(rows[0][0] == "5\" screen");
}

BOOST_AUTO_TEST_SUITE_END()
