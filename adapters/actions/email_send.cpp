#include "adapters/actions/email_send.hpp"

#include <ctime>

#include "runtime/base/crypto.hpp"

namespace keel {

namespace {

bool ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// RFC 2047 for non-ASCII header text.
std::string header_text(const std::string& s) {
  return ascii(s) ? s : "=?UTF-8?B?" + control::to_base64(s) + "?=";
}

std::string rfc5322_date(std::int64_t t) {
  std::time_t tt = t;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

result<std::vector<std::string>> addresses(const nlohmann::json& args, const char* key, bool required) {
  std::vector<std::string> out;
  if (!args.contains(key)) {
    if (required) return error{errc::bad_request, std::string("email.send needs \"") + key + "\""};
    return out;
  }
  const auto& v = args[key];
  if (v.is_string()) out.push_back(v.get<std::string>());
  else if (v.is_array())
    for (const auto& a : v) {
      if (!a.is_string()) return error{errc::bad_request, std::string("email.send: ") + key + " must hold strings"};
      out.push_back(a.get<std::string>());
    }
  else return error{errc::bad_request, std::string("email.send: ") + key + " must be an address or a list"};
  for (const auto& a : out)
    if (a.find('@') == std::string::npos || a.find_first_of("\r\n<>,; ") != std::string::npos)
      return error{errc::bad_request, std::string("email.send: '") + a.substr(0, 80) + "' in " + key + " is not a bare address"};
  if (required && out.empty()) return error{errc::bad_request, std::string("email.send: ") + key + " is empty"};
  if (out.size() > 100) return error{errc::bad_request, std::string("email.send: more than 100 addresses in ") + key};
  return out;
}

class email_send_action final : public action {
 public:
  explicit email_send_action(email_spec spec) : spec_(std::move(spec)) {}
  const char* name() const override { return "email.send"; }

  result<nlohmann::json> run(const nlohmann::json& args, const action_context& ctx) const override {
    if (!args.is_object()) return error{errc::bad_request, "email.send needs {to, subject, text}"};
    auto to = addresses(args, "to", true);
    if (!to) return to.err();
    auto cc = addresses(args, "cc", false);
    if (!cc) return cc.err();
    outgoing_mail m;
    m.from = args.contains("from") && args["from"].is_string() ? args["from"].get<std::string>() : spec_.default_from;
    if (m.from.find('@') == std::string::npos)
      return error{errc::bad_request, "email.send: no sender: pass \"from\" or configure the executor's email.from"};
    m.to = *to;
    m.cc = *cc;
    for (const char* k : {"subject", "text", "in_reply_to"})
      if (args.contains(k) && !args[k].is_string()) return error{errc::bad_request, std::string("email.send: ") + k + " must be a string"};
    m.subject = args.value("subject", "");
    m.text = args.value("text", "");
    m.in_reply_to = args.value("in_reply_to", "");
    std::string key = ctx.idempotency_key.empty() ? "task-" + std::to_string(ctx.task_id) : ctx.idempotency_key;
    m.message_id = message_id_for(key, m.from);
    m.date_s = std::time(nullptr);
    auto text = render_mail(m);
    if (!text) return text.err();
    smtp::envelope env{m.from, m.to, *text};
    env.to.insert(env.to.end(), m.cc.begin(), m.cc.end());
    smtp::server server = spec_.smtp;
    if (args.contains("smtp_password")) {  // "secret://NAME" in the step: the node resolved it for this action only
      if (!args["smtp_password"].is_string()) return error{errc::bad_request, "email.send: smtp_password must be a string"};
      server.password = args["smtp_password"].get<std::string>();
    }
    auto sent = smtp::send(server, env, ctx.deadline);
    if (!sent) return sent.err();
    return nlohmann::json{{"message_id", m.message_id}, {"accepted", env.to}, {"tls", sent->tls}, {"reply", sent->reply}};
  }

 private:
  email_spec spec_;
};

}  // namespace

std::string message_id_for(const std::string& idempotency_key, const std::string& from) {
  auto at = from.rfind('@');
  std::string domain = at == std::string::npos || at + 1 >= from.size() ? "keel.localdomain" : from.substr(at + 1);
  return "<" + control::sha256_hex("keel-email:" + idempotency_key).substr(0, 32) + "@" + domain + ">";
}

result<std::string> render_mail(const outgoing_mail& m) {
  for (const auto* v : {&m.from, &m.subject, &m.message_id, &m.in_reply_to})
    if (v->find_first_of("\r\n") != std::string::npos)
      return error{errc::bad_request, "email.send: a header value contains a line break"};
  std::string out;
  out += "From: " + m.from + "\n";
  out += "To: " + join(m.to) + "\n";
  if (!m.cc.empty()) out += "Cc: " + join(m.cc) + "\n";
  out += "Subject: " + header_text(m.subject) + "\n";
  out += "Date: " + rfc5322_date(m.date_s) + "\n";
  out += "Message-ID: " + m.message_id + "\n";
  if (!m.in_reply_to.empty()) out += "In-Reply-To: " + m.in_reply_to + "\nReferences: " + m.in_reply_to + "\n";
  out += "MIME-Version: 1.0\n";
  if (ascii(m.text)) {
    out += "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n" + m.text;
  } else {
    auto b64 = control::to_base64(m.text);
    out += "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n";
    for (std::size_t i = 0; i < b64.size(); i += 76) out += b64.substr(i, 76) + "\n";
  }
  return out;
}

std::unique_ptr<action> make_email_send_action(email_spec spec) {
  return std::make_unique<email_send_action>(std::move(spec));
}

}  // namespace keel
