#include "adapters/actions/builtin_actions.hpp"

#include <thread>

#include <cstdlib>

#include "adapters/actions/email_send.hpp"
#include "adapters/actions/file_append.hpp"
#include "adapters/actions/http_request.hpp"
#include "adapters/actions/shell_action.hpp"

namespace keel {

namespace {

class echo_action final : public action {
 public:
  const char* name() const override { return "echo"; }
  result<nlohmann::json> run(const nlohmann::json& args, const action_context&) const override {
    return args;
  }
  bool may_block() const override { return false; }
};

class sleep_action final : public action {
 public:
  const char* name() const override { return "sleep"; }
  result<nlohmann::json> run(const nlohmann::json& args, const action_context& ctx) const override {
    if (!args.is_object() || !args.contains("ms") || !args["ms"].is_number_integer() ||
        args["ms"].get<std::int64_t>() < 0 || args["ms"].get<std::int64_t>() > 86'400'000)
      return error{errc::bad_request, "sleep needs {\"ms\": N} with 0 <= N <= 86400000"};
    auto want = std::chrono::milliseconds(args["ms"].get<std::int64_t>());
    auto until = std::chrono::steady_clock::now() + want;
    if (until > ctx.deadline) {
      std::this_thread::sleep_until(ctx.deadline);
      return error{errc::timeout, "sleep of " + std::to_string(want.count()) +
                                      "ms did not fit in the task's deadline"};
    }
    // Sleep in slices, beating between them: a long sleep is progress.
    while (std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_until(std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(200)));
      ctx.heartbeat();
    }
    return nlohmann::json{{"slept_ms", want.count()}};
  }
};

class fail_action final : public action {
 public:
  const char* name() const override { return "fail"; }
  result<nlohmann::json> run(const nlohmann::json& args, const action_context&) const override {
    std::string msg = "failed on purpose (the fail action always fails)";
    if (args.is_object() && args.contains("message") && args["message"].is_string())
      msg = args["message"].get<std::string>();
    return error{errc::action_failed, msg};
  }
  bool may_block() const override { return false; }
};

}  // namespace

status add_builtin_actions(action_registry& registry, const executor_config& cfg) {
  for (const auto& cap : cfg.caps) {
    if (cap == "echo") registry.add(std::make_unique<echo_action>());
    else if (cap == "sleep") registry.add(std::make_unique<sleep_action>());
    else if (cap == "fail") registry.add(std::make_unique<fail_action>());
    else if (cap == "file.append") registry.add(make_file_append_action(cfg.files_dir));
    else if (cap == "http.request") {
      if (cfg.http.allowed_hosts.empty() && cfg.http.base_urls.empty())
        return error{errc::config, "http.request needs http.allowed_hosts (account: hosts) or http.base_urls (account: "
                                   "URL) in the executor config"};
      auto action = make_http_request_action({cfg.http.allowed_hosts, cfg.http.max_response_bytes, {}, cfg.http.base_urls});
      if (!action) return action.err();
      registry.add(std::move(action.value()));
    } else if (cap == "email.send") {
      email_spec spec;
      spec.smtp = {cfg.email.host, cfg.email.port, cfg.email.starttls, cfg.email.ca_file, cfg.email.username, {},
                   false, cfg.email.helo};
      if (!cfg.email.password_env.empty()) {
        const char* pw = std::getenv(cfg.email.password_env.c_str());
        if (pw == nullptr || !*pw)
          return error{errc::config, "email.password_env names $" + cfg.email.password_env + ", which is not set"};
        spec.smtp.password = pw;
      }
      spec.default_from = cfg.email.from;
      registry.add(make_email_send_action(std::move(spec)));
    } else if (cap == "shell") {
      auto shell = make_shell_action(cfg.shell);
      if (!shell) return shell.err();
      registry.add(std::move(shell.value()));
    } else {
      return error{errc::config, "unknown capability '" + cap +
                                     "': this executor can run echo, sleep, fail, shell, file.append, http.request, email.send"};
    }
  }
  return ok_v;
}

}  // namespace keel
