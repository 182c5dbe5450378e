// Shared by the console page suites: a page frame, hostile text as a node's
// reply might carry it (markup, both quotes, an ampersand) with the form it
// must take in the HTML, and checks that a page shows the one and never
// the other.
#pragma once

#include <boost/test/unit_test.hpp>

#include <string>

#include "runtime/console/pages.hpp"
#include "runtime/base/error.hpp"
#include "tests/support/text_match.hpp"

namespace keel::test {

inline const std::string hostile = "<script>alert(\"x&'y\")</script>";
inline const std::string hostile_escaped = "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;";

inline console::page_frame test_frame(const std::string& active = "inbox") {
  console::page_frame f;
  f.title = "Test";
  f.active = active;
  f.csrf = "csrf-token-1";
  f.operator_name = "ana";
  f.now_ms = 1'800'000'000'000;
  return f;
}

// The text is in the page, escaped, and never raw.
inline void shows_escaped(const std::string& html, const std::string& text, const std::string& escaped) {
  BOOST_TEST(has(html, escaped), "the page does not show " << escaped);
  BOOST_TEST(!has(html, text), "the page holds raw " << text);
}
inline void shows_hostile_escaped(const std::string& html) { shows_escaped(html, hostile, hostile_escaped); }

// An admin request's error as a page shows it: an alert with its message.
inline void shows_error(const std::string& html, const std::string& message) {
  BOOST_TEST(has(html, "<p class=\"error\" role=\"alert\">" + message + "</p>"), "no error note for: " << message);
}

inline error node_error(const std::string& message) { return error{errc::unavailable, message}; }

}  // namespace keel::test
