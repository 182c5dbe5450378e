// The local span store: spans of one trace come back as a causal tree,
// export as OTLP/JSON, and the store stays bounded by count and age; the
// sampler for routine spans admits a bounded number per second.
#include <boost/test/unit_test.hpp>

#include "runtime/control/rate_sampler.hpp"
#include "runtime/control/span_store.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/text_match.hpp"

using namespace keel;
using namespace keel::control;

namespace {

using keel::test::has;

const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";

span make(const std::string& id, const std::string& parent, const std::string& name, std::int64_t start,
          std::int64_t end, nlohmann::json attrs = nlohmann::json::object()) {
  span s;
  s.trace_id = trace_id;
  s.span_id = id;
  s.parent_span_id = parent;
  s.name = name;
  s.start_us = start;
  s.end_us = end;
  s.attributes = std::move(attrs);
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(span_store_test)

BOOST_AUTO_TEST_CASE(one_trace_becomes_a_causal_tree) {
  test::temp_dir dir("trace");
  auto db = store::open(dir / "data").value();
  auto st = span_store::open(*db).value();
  std::int64_t t0 = unix_now_us();
  // Recorded out of order, as agents finish at different times.
  BOOST_REQUIRE(st->record(make("00000000000000a3", "00000000000000a1", "action email.send", t0 + 500, t0 + 900)).ok());
  BOOST_REQUIRE(st->record(make("00000000000000a1", "", "event invoice.payment_failed", t0, t0 + 1000)).ok());
  BOOST_REQUIRE(st->record(make("00000000000000a2", "00000000000000a1", "chat qwen2.5", t0 + 100, t0 + 400,
                                {{genai::operation_name, "chat"},
                                 {genai::request_model, "qwen2.5"},
                                 {genai::input_tokens, 120},
                                 {genai::output_tokens, 40},
                                 {"keel.cost_usd", 0.0002}}))
                    .ok());
  BOOST_REQUIRE(st->record(make("00000000000000b1", "00000000000000a2", "retrieval", t0 + 150, t0 + 200)).ok());
  BOOST_REQUIRE(st->record(make("00000000000000c1", "00000000000000ff", "late orphan", t0 + 950, t0 + 990)).ok());
  span other = make("00000000000000d1", "", "another trace", t0, t0 + 1);
  other.trace_id = "0af7651916cd43dd8448eb211c80319c";
  BOOST_REQUIRE(st->record(other).ok());
  BOOST_TEST(st->size() == 6u);

  auto spans = st->trace(trace_id).value();
  BOOST_REQUIRE(spans.size() == 5u);
  auto roots = build_tree(spans);
  BOOST_REQUIRE(roots.size() == 2u);
  BOOST_TEST(roots[0].s.name == "event invoice.payment_failed");
  BOOST_REQUIRE(roots[0].children.size() == 2u);
  BOOST_TEST(roots[0].children[0].s.name == "chat qwen2.5");  // by start time
  BOOST_TEST(roots[0].children[0].children[0].s.name == "retrieval");
  BOOST_TEST(roots[1].orphan);

  auto text = render_tree(roots);
  BOOST_TEST_MESSAGE(text);
  BOOST_TEST(has(text, "event invoice.payment_failed  1.0ms\n  chat qwen2.5  0.3ms  model=\"qwen2.5\"  tokens=120/40"));
  BOOST_TEST(has(text, "    retrieval"));
  BOOST_TEST(has(text, "(parent 00000000000000ff not recorded)"));

  auto otlp = to_otlp_json(spans, "keel-test");
  const auto& rs = otlp["resourceSpans"][0];
  BOOST_TEST(rs["resource"]["attributes"][0]["value"]["stringValue"] == "keel-test");
  const auto& out = rs["scopeSpans"][0]["spans"];
  BOOST_REQUIRE(out.size() == 5u);
  BOOST_TEST(out[0]["traceId"] == trace_id);
  BOOST_TEST(out[0]["startTimeUnixNano"] == std::to_string(t0 * 1000));
  BOOST_TEST(!out[0].contains("parentSpanId"));
  BOOST_TEST(out[1]["parentSpanId"] == "00000000000000a1");
  BOOST_TEST(out[1]["kind"] == 3);  // CLIENT: a model call
  bool tokens = false;
  for (const auto& a : out[1]["attributes"])
    if (a["key"] == genai::input_tokens) tokens = a["value"]["intValue"] == "120";
  BOOST_TEST(tokens);
}

// The stored text is written without a JSON tree: it must be the tree's
// own, whatever the span holds.
BOOST_AUTO_TEST_CASE(the_stored_text_is_the_json_of_the_span) {
  span s;
  s.trace_id = "0123456789abcdef0123456789abcdef";
  s.span_id = "0123456789abcdef";
  s.name = "chat \"quoted\" caf\u00e9\n";
  s.start_us = -1;
  s.end_us = 1796618625089762;
  s.attributes = {{"keel.cost_usd", 0.25}, {"keel.cached", false}, {"z", {{"deep", {1, "\t"}}}}, {"a", nullptr}};
  s.status_message = "\x01 control";
  for (bool failed : {false, true}) {
    s.error = failed;
    BOOST_TEST(s.to_text() == s.to_json().dump());
    BOOST_TEST(span::from_json(nlohmann::json::parse(s.to_text())).to_json() == s.to_json());
  }
  BOOST_TEST(span{}.to_text() == span{}.to_json().dump());
}

BOOST_AUTO_TEST_CASE(non_hex_ids_are_mapped_for_otlp) {
  std::vector<span> spans{make("task-7", "", "task", 1, 2)};
  spans[0].trace_id = "wf_refund_42";
  auto j = to_otlp_json(spans)["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  BOOST_TEST(j["traceId"].get<std::string>().size() == 32u);
  BOOST_TEST(j["spanId"].get<std::string>().size() == 16u);
  BOOST_TEST(j.dump().find("wf_refund_42") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_store_is_bounded_and_pruned_oldest_first) {
  test::temp_dir dir("trace");
  auto db = store::open(dir / "data").value();
  auto st = span_store::open(*db, {100, std::chrono::hours(1)}).value();
  std::int64_t now_us = unix_now_us();
  for (int i = 0; i < 150; ++i) {
    char id[17];
    std::snprintf(id, sizeof id, "%016x", i);
    BOOST_REQUIRE(st->record(make(id, "", "s" + std::to_string(i), now_us - 150 + i, now_us)).ok());
  }
  BOOST_TEST(st->size() <= 100u);
  BOOST_TEST(st->size() >= 99u);
  auto left = st->trace(trace_id).value();
  BOOST_TEST(left.size() == st->size());
  BOOST_TEST(left.back().name == "s149");  // the newest are kept
  BOOST_TEST(left.front().name != "s0");

  // Age: two hours old is past max_age (a roomier store, so only age prunes).
  st.reset();
  st = span_store::open(*db, {1000, std::chrono::hours(1)}).value();
  auto old = make("00000000000000ee", "", "ancient", now_us - 2LL * 3600 * 1000000, now_us - 2LL * 3600 * 1000000 + 5);
  BOOST_REQUIRE(st->record(old).ok());
  auto before = st->size();
  auto removed = st->prune(now_us / 1000).value();
  BOOST_TEST(removed == 1u);
  BOOST_TEST(st->size() == before - 1);
  // A reopened store knows its size.
  st.reset();
  auto again = span_store::open(*db, {1000, std::chrono::hours(1)}).value();
  BOOST_TEST(again->size() == before - 1);
  BOOST_TEST(again->record(make("", "", "no id", 1, 2)).err().code == errc::bad_request);
}

BOOST_AUTO_TEST_CASE(the_routine_span_sampler_admits_at_most_its_rate_per_second) {
  using namespace std::chrono_literals;
  rate_sampler::clock::time_point t0{};
  t0 += 1000s;
  rate_sampler three(3);
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += three.admit(t0 + i * 10ms);
  BOOST_TEST(admitted == 3);
  BOOST_TEST(three.dropped() == 7U);
  // A new one-second window admits again, up to the rate.
  admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += three.admit(t0 + 1s + i * 10ms);
  BOOST_TEST(admitted == 3);
  // 0 (or less) keeps everything.
  rate_sampler all(0);
  for (int i = 0; i < 1000; ++i) BOOST_TEST_REQUIRE(all.admit(t0));
  BOOST_TEST(all.dropped() == 0U);
}

BOOST_AUTO_TEST_SUITE_END()
