#include "adapters/connectors/http_poll_connector.hpp"

#include <ctime>
#include <thread>

#include "adapters/connectors/file_connector.hpp"
#include "storage/memory/content_hash.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/json_text.hpp"

namespace keel::connectors {

namespace {

class http_poll_connector final : public connector {
 public:
  http_poll_connector(http_poll_source src, event_inbox& inbox, store& db)
      : src_(std::move(src)), inbox_(inbox), db_(db), bucket_(src_.per_second, src_.burst) {
    if (src_.cursor_param.empty()) src_.cursor_param = src_.cursor;
  }
  const std::string& name() const override { return src_.name; }
  const char* kind() const override { return "http_poll"; }
  result<connector_state> state() const override {
    auto st = load_state(db_, src_.name, kind());
    if (st) st->rate_limit = bucket_.snapshot();
    return st;
  }

  result<sync_report> sync(bool full) override {
    auto forget = [](connector_state& st) { st.cursor.clear(); };
    return run_sync_pass(db_, src_.name, kind(), full, state_, forget, [this](sync_report& report) {
      auto r = run(report);
      state_.rate_limit = bucket_.snapshot();
      return r;
    });
  }

 private:
  std::string page_url() const {
    std::string url = src_.url;
    char sep = url.find('?') == std::string::npos ? '?' : '&';
    url += sep + src_.page_size_param + "=" + std::to_string(src_.page_size);
    if (!state_.cursor.empty()) url += "&" + http::query_escape(src_.cursor_param) + "=" + http::query_escape(state_.cursor);
    return url;
  }

  // One page, with rate limiting, 429 handling and backoff on errors.
  result<nlohmann::json> fetch_page() {
    int failures = 0, throttled = 0;
    for (;;) {
      bucket_.acquire();
      http::request req;
      req.url = page_url();
      req.headers = src_.headers;
      req.headers.emplace_back("Accept", "application/json");
      req.timeout = src_.timeout;
      req.max_response_bytes = src_.max_response_bytes;
      auto res = http::fetch(req);
      std::string problem;
      if (res && res->status == 429) {
        auto wait = parse_retry_after(res->header("Retry-After"), unix_now_ms()).value_or(std::chrono::milliseconds(0));
        if (wait > src_.max_retry_wait)
          return error{errc::unavailable, src_.name + ": rate limited; Retry-After " + std::to_string(wait.count() / 1000) +
                                              " s exceeds max_retry_wait"};
        if (++throttled > 50) return error{errc::unavailable, src_.name + ": rate limited 50 times in a row"};
        if (wait.count() == 0) wait = std::chrono::milliseconds(1000);
        bucket_.pause_until(token_bucket::clock::now() + wait);
        state_.rate_limit = bucket_.snapshot();
        continue;
      }
      if (!res) problem = res.err().message;
      else if (res->status >= 500) problem = src_.name + ": HTTP " + std::to_string(res->status);
      else if (res->status != 200)  // other 4xx: retrying will not help
        return error{errc::action_failed, src_.name + ": HTTP " + std::to_string(res->status) + " from " +
                                              src_.url + "; check the URL and credentials"};
      if (problem.empty()) {
        std::string why;
        auto j = parse_json_text(res->body, &why);
        if (j.is_discarded()) return error{errc::bad_request, src_.name + ": the response is " + why};
        if (!j.is_object()) return error{errc::bad_request, src_.name + ": the response is not a JSON object"};
        return j;
      }
      ++state_.errors;
      if (++failures > src_.retries) return error{errc::unavailable, problem + " (gave up after " +
                                                                       std::to_string(src_.retries) + " retries)"};
      auto delay = src_.backoff_min * (1LL << std::min(failures - 1, 20));
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(delay, src_.backoff_max));
    }
  }

  status run(sync_report& report) {
    state_.status = "syncing";
    for (std::size_t page = 0; page < src_.max_pages; ++page) {
      auto body = fetch_page();
      if (!body) return body.err();
      const auto* items = value_at_path(*body, src_.items);
      if (items == nullptr || !items->is_array())
        return error{errc::bad_request, src_.name + ": the response has no array at '" + src_.items +
                                            "'; did the API change its shape?"};
      inbox_batch b;
      std::string next = state_.cursor;
      for (const auto& item : *items) {
        ++b.records_in;
        auto m = map_record(src_.mapping, src_.name, item, unix_now_ms());
        const auto* c = value_at_path(item, src_.cursor_field);
        std::string cv = c == nullptr ? "" : c->is_string() ? c->get<std::string>() : c->dump();
        if (!m.event) {
          b.rejects.emplace_back(std::move(m.raw_event), m.reject_reason);
        } else {
          auto& e = *m.event;
          e["id"] = e["id"].get<std::string>() + ":" + memory::content_hash(item.dump()).substr(0, 16);
          b.events.push_back(std::move(e));
        }
        if (cv.empty()) continue;
        if (src_.cursor == "starting_after") next = cv;  // the last item, whatever its state
        else if (next.empty() || compare_cursor(cv, next) > 0) next = cv;
      }
      std::string before = state_.cursor;
      state_.cursor = next;
      auto n = inbox_.commit(b, &state_, false);
      if (!n) {
        state_.cursor = before;
        return n.err();
      }
      report.add(b.records_in, *n);
      if (after_commit) after_commit(report.commits);
      if (items->empty()) break;
      if (src_.cursor == "starting_after") {
        const auto* more = value_at_path(*body, src_.has_more);
        if (more == nullptr || !more->is_boolean() || !more->get<bool>()) break;
        if (next == before) return error{errc::bad_request, src_.name + ": has_more is true but the cursor did not move"};
      } else {
        // updated_since is inclusive at most APIs: a page of only known
        // items, or a short page, is the end.
        if (items->size() < src_.page_size || n->accepted == 0) break;
      }
    }
    return ok_v;
  }

  http_poll_source src_;
  event_inbox& inbox_;
  store& db_;
  token_bucket bucket_;
  connector_state state_;
};

}  // namespace

std::unique_ptr<connector> make_http_poll_connector(http_poll_source src, event_inbox& inbox, store& db) {
  return std::make_unique<http_poll_connector>(std::move(src), inbox, db);
}

}  // namespace keel::connectors
