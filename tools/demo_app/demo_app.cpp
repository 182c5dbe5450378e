// keel-demo-app: the founder's own tools for the case study (tools/demo.sh,
// tests/integration/case_study_test.cpp), as one small HTTP app on
// 127.0.0.1: the product's account admin API, the CRM's tag API and the
// billing provider's refund API. The onboarding, dunning and refund
// workflows change it through `http.request`.
//
// Like Stripe's API it honours Idempotency-Key: a request whose key was
// seen before gets the first answer again (header Idempotent-Replayed:
// true) and changes nothing. GET /state shows everything, with how often
// each effect was applied (`applied`: one per real change) and how many
// requests were replays, so a test can see that a re-delivered step did
// nothing twice. State lives in memory and, after each change, in --state
// FILE (for a person to look at; it is not read back).
//
//   keel-demo-app --port 7480 [--state FILE]
//   POST   /accounts             {customer_id, email, name?, plan?} -> 201 {id, ...}
//   DELETE /accounts/ID          (the onboarding's compensation)
//   POST   /accounts/status      {email, status}   e.g. past_due (dunning)
//   POST   /crm/tags             {email, tag}
//   POST   /refunds              {charge, amount, customer_email?} -> 201 {id, ...}
//   GET    /state
#include <httplib.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;

struct app_state {
  std::mutex mu;
  json accounts = json::object();    // customer_id -> account
  json crm_tags = json::object();    // email -> [tags]
  json refunds = json::object();     // refund id -> refund
  json applied = json::object();     // "account.create:cus_1" -> times the change was made
  json answers = json::object();     // Idempotency-Key -> {status, body}
  std::uint64_t requests = 0, replays = 0;
  std::string file;

  json snapshot() const {
    return {{"accounts", accounts}, {"crm_tags", crm_tags}, {"refunds", refunds}, {"applied", applied},
            {"requests", requests}, {"replays", replays}, {"idempotency_keys", answers.size()}};
  }
  void save() const {
    if (file.empty()) return;
    std::ofstream(file + ".tmp") << snapshot().dump(2) << "\n";
    std::rename((file + ".tmp").c_str(), file.c_str());
  }
};

app_state state;
httplib::Server* server = nullptr;

// Runs `change` once per Idempotency-Key: it returns {status, body} and
// may change the state; a key seen before replays the first answer.
using change_fn = std::function<std::pair<int, json>(const json& body)>;
httplib::Server::Handler idempotent(change_fn change) {
  return [change](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lk(state.mu);
    ++state.requests;
    auto key = req.get_header_value("Idempotency-Key");
    if (!key.empty() && state.answers.contains(key)) {
      ++state.replays;
      const auto& a = state.answers[key];
      res.status = a["status"].get<int>();
      res.set_header("Idempotent-Replayed", "true");
      res.set_content(a["body"].dump(), "application/json");
      return;
    }
    auto body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
    std::pair<int, json> out;
    if (!body.is_object()) out = {400, {{"error", "the body must be a JSON object"}}};
    else out = change(body);
    if (!key.empty() && out.first < 500) state.answers[key] = {{"status", out.first}, {"body", out.second}};
    state.save();
    res.status = out.first;
    res.set_content(out.second.dump(), "application/json");
  };
}

void count(const std::string& effect) { state.applied[effect] = state.applied.value(effect, 0) + 1; }

std::string text(const json& body, const char* key) {
  return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : std::string();
}

std::pair<int, json> missing(const char* what) { return {400, {{"error", std::string("missing \"") + what + "\""}}}; }

}  // namespace

int main(int argc, char** argv) {
  int port = 7480;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--port") port = std::atoi(argv[i + 1]);
    else if (a == "--state") state.file = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: keel-demo-app --port N [--state FILE]\n");
      return 2;
    }
  }
  httplib::Server srv;
  server = &srv;

  srv.Post("/accounts", idempotent([](const json& b) -> std::pair<int, json> {
    auto id = text(b, "customer_id"), email = text(b, "email");
    if (id.empty()) return missing("customer_id");
    if (email.empty()) return missing("email");
    if (state.accounts.contains(id)) return {200, state.accounts[id]};  // already there: nothing to do
    json acct = {{"id", "acct_" + id}, {"customer_id", id}, {"email", email}, {"name", text(b, "name")},
                 {"plan", text(b, "plan")}, {"status", "active"}};
    state.accounts[id] = acct;
    count("account.create:" + id);
    return {201, acct};
  }));
  srv.Delete(R"(/accounts/([^/]+))", [](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lk(state.mu);
    ++state.requests;
    auto id = req.matches[1].str();
    if (state.accounts.erase(id) > 0) count("account.delete:" + id);
    state.save();
    res.set_content(json{{"deleted", id}}.dump(), "application/json");
  });
  srv.Post("/accounts/status", idempotent([](const json& b) -> std::pair<int, json> {
    auto email = text(b, "email"), status = text(b, "status");
    if (email.empty()) return missing("email");
    if (status.empty()) return missing("status");
    for (auto& [id, acct] : state.accounts.items())
      if (acct["email"] == email) {
        if (acct["status"] != status) count("account.status:" + id + "=" + status);
        acct["status"] = status;
        return {200, acct};
      }
    return {404, {{"error", "no account for " + email}}};
  }));
  srv.Post("/crm/tags", idempotent([](const json& b) -> std::pair<int, json> {
    auto email = text(b, "email"), tag = text(b, "tag");
    if (email.empty()) return missing("email");
    if (tag.empty()) return missing("tag");
    auto& tags = state.crm_tags[email];
    if (!tags.is_array()) tags = json::array();
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
      tags.push_back(tag);
      count("crm.tag:" + email + "=" + tag);
    }
    return {200, {{"email", email}, {"tags", tags}}};
  }));
  srv.Post("/refunds", idempotent([](const json& b) -> std::pair<int, json> {
    auto charge = text(b, "charge");
    if (charge.empty()) return missing("charge");
    if (!b.contains("amount") || !b["amount"].is_number()) return missing("amount");
    auto id = "rf_" + charge;
    if (state.refunds.contains(id)) return {200, state.refunds[id]};
    json refund = {{"id", id}, {"charge", charge}, {"amount", b["amount"]}, {"customer_email", text(b, "customer_email")},
                   {"status", "succeeded"}};
    state.refunds[id] = refund;
    count("refund:" + charge);
    return {201, refund};
  }));
  srv.Get("/state", [](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lk(state.mu);
    res.set_content(state.snapshot().dump(2), "application/json");
  });

  std::signal(SIGTERM, [](int) { server->stop(); });
  std::signal(SIGINT, [](int) { server->stop(); });
  if (!srv.bind_to_port("127.0.0.1", port)) {
    std::fprintf(stderr, "keel-demo-app: cannot listen on 127.0.0.1:%d (taken?)\n", port);
    return 1;
  }
  state.save();
  std::printf("keel-demo-app ready: http://127.0.0.1:%d\n", port);
  std::fflush(stdout);
  srv.listen_after_bind();
  return 0;
}
