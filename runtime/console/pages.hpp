// The console's HTML, as pure functions from the admin replies (the same
// JSON keelctl --json prints) to markup. Internal to runtime/console; the
// HTTP side (page_routes.cpp, form_routes.cpp) fetches the data and picks
// the page. One file per page (inbox_page.cpp, work_page.cpp, ...), the
// frame in layout.cpp, the shared pieces in page_parts.hpp.
//
// The pages are plain server-rendered HTML: forms post and redirect, so
// every action works with a keyboard and without script; console.js only
// adds live updates (it re-fetches the parts marked data-live). Every value
// from the node is escaped; nothing is loaded from another origin.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel::console {

// What every page around its body needs.
struct page_frame {
  std::string title;
  std::string active;         // nav item: inbox, work, memory, report, system
  std::string csrf;           // the session's CSRF token, put in every form
  std::string operator_name;
  std::string notice;         // one-shot message after a post (empty: none)
  bool notice_is_error = false;
  std::int64_t now_ms = 0;
};

std::string escape(const std::string& s);

// A whole document: header with navigation and sign-out, the notice, body.
std::string render_page(const page_frame& f, const std::string& body);
std::string login_page(const std::string& error);
// A refusal outside any session's page (a forged or oversized post): what
// happened, that nothing changed, and a way back.
std::string message_page(const std::string& title, const std::string& text);

// Inbox: approvals, clarifications and what needs attention (the reply of
// `approvals`). inbox_items is the live part, re-fetched by console.js.
std::string inbox_items(const page_frame& f, const nlohmann::json& approvals);
std::string inbox_body(const page_frame& f, const result<nlohmann::json>& approvals);

// Work: the instance list (`tasks`), and one instance (`task` + `history`).
std::string work_items(const page_frame& f, const nlohmann::json& tasks, const std::string& state_filter);
std::string work_body(const page_frame& f, const result<nlohmann::json>& tasks, const std::string& state_filter);
std::string instance_live(const page_frame& f, const nlohmann::json& task, const nlohmann::json& history);
std::string instance_body(const page_frame& f, const std::string& id, const result<nlohmann::json>& task,
                          const result<nlohmann::json>& history);

// Customers / memory: one record with its versions; a search of the
// current records (`records.search` text) and of memory (`memory.search`).
struct memory_query {
  std::string type, id, query;
};
std::string memory_body(const page_frame& f, const memory_query& q, const result<nlohmann::json>* record,
                        const result<nlohmann::json>* versions, const result<nlohmann::json>* search,
                        const result<nlohmann::json>* found);

// System: node and agents (`status`), executors, connectors, spend, alerts,
// the audit trail and its verification.
struct system_data {
  result<nlohmann::json> status = nlohmann::json();
  result<nlohmann::json> connectors = nlohmann::json();
  result<nlohmann::json> models = nlohmann::json();
  result<nlohmann::json> cost = nlohmann::json();
  result<nlohmann::json> alerts = nlohmann::json();
  result<nlohmann::json> audit = nlohmann::json();
  result<nlohmann::json> verify = nlohmann::json();
  std::string audit_kind;  // the audit trail shows only this kind ("" = every kind)
};
// Report: the operational-debt report (`report`) over `since` ("30d").
std::string report_body(const page_frame& f, const result<nlohmann::json>& report, const std::string& since);

// The audit kinds the System page offers as a filter.
const std::vector<std::string>& audit_kinds();
std::string system_body(const page_frame& f, const system_data& d);
std::string audit_items(const page_frame& f, const nlohmann::json& audit_tail);  // the live part

}  // namespace keel::console
