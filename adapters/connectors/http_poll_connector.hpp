// The HTTP poll connector: pages through a JSON list API and turns each item
// into a normalized event.
//
//   - name: billing_api
//     kind: http_poll
//     url: http://127.0.0.1:8080/v1/customers
//     items: data                   # path of the page's array
//     cursor: starting_after        # starting_after (the last item's id, with has_more)
//                                   # | updated_since (the largest updated value seen)
//     cursor_param: starting_after  # query parameter (default: the mode's name)
//     cursor_field: id              # item path that becomes the next cursor
//     has_more: has_more            # starting_after mode: page field saying more follow
//     page_size: 100                # sent as limit=100 (page_size_param)
//     headers: {Authorization: "Bearer secret://billing_key"}   # resolved by the caller
//     rate: {per_second: 5, burst: 1}
//     retries: 5                    # on 5xx / network errors, backoff 200 ms * 2^n up to 10 s
//     timeout: 10s
//     mapping: {type: billing.customer, id: id, occurred_at: updated?, fields: {...}}
//
// Each page's events, dead letters and the advanced cursor commit in ONE
// WriteBatch; a crash resumes from the last committed page. Every request
// first takes a token from the connector's bucket; a 429 pauses the bucket
// for Retry-After (seconds or an HTTP date, capped by max_retry_wait) and
// retries the same page. A response that is not a JSON object with an array
// at `items` fails the sync (the cursor does not move): a changed shape is
// reported, never skipped.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "adapters/connectors/connector.hpp"
#include "adapters/connectors/event_inbox.hpp"
#include "adapters/connectors/record_mapping.hpp"
#include "adapters/connectors/token_bucket.hpp"
#include "runtime/http/http_fetch.hpp"

namespace keel::connectors {

struct http_poll_source {
  std::string name;
  std::string url;
  std::string items = "data";
  std::string cursor = "starting_after";  // starting_after | updated_since
  std::string cursor_param;               // default: = cursor
  std::string cursor_field = "id";
  std::string has_more = "has_more";
  std::size_t page_size = 100;
  std::string page_size_param = "limit";
  http::header_list headers;              // values already resolved from the vault
  double per_second = 5;
  double burst = 1;
  int retries = 5;
  std::chrono::milliseconds backoff_min{200};
  std::chrono::milliseconds backoff_max{10000};
  std::chrono::milliseconds max_retry_wait{60000};
  std::chrono::milliseconds timeout{10000};
  std::size_t max_response_bytes = 8 << 20;
  std::size_t max_pages = 10000;  // per sync
  record_mapping mapping;
};

std::unique_ptr<connector> make_http_poll_connector(http_poll_source src, event_inbox& inbox, store& db);

}  // namespace keel::connectors
