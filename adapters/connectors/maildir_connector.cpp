#include "adapters/connectors/maildir_connector.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/connectors/mail_message.hpp"
#include "storage/memory/content_hash.hpp"
#include "runtime/base/duration.hpp"

namespace keel::connectors {

namespace fs = std::filesystem;

namespace {

class maildir_connector final : public connector {
 public:
  maildir_connector(maildir_source src, event_inbox& inbox, store& db) : src_(std::move(src)), inbox_(inbox), db_(db) {}
  const std::string& name() const override { return src_.name; }
  const char* kind() const override { return "maildir"; }
  result<connector_state> state() const override { return load_state(db_, src_.name, kind()); }

  result<sync_report> sync(bool full) override {  // new/ is the cursor: --full changes nothing
    return run_sync_pass(db_, src_.name, kind(), full, state_, {}, [this](sync_report& report) { return run(report); });
  }

 private:
  status run(sync_report& report) {
    std::error_code ec;
    fs::path dir(src_.path);
    fs::create_directories(dir / "cur", ec);
    std::vector<fs::path> files;
    for (auto it = fs::directory_iterator(dir / "new", ec); !ec && it != fs::directory_iterator(); it.increment(ec))
      if (it->is_regular_file() && it->path().filename().string()[0] != '.') files.push_back(it->path());
    if (ec) return error{errc::io, src_.name + ": cannot read " + (dir / "new").string() + ": " + ec.message()};
    std::sort(files.begin(), files.end());  // Maildir names start with the delivery time
    for (std::size_t i = 0; i < files.size(); i += src_.batch) {
      inbox_batch b;
      std::vector<fs::path> chunk(files.begin() + i, files.begin() + std::min(files.size(), i + src_.batch));
      for (const auto& f : chunk) {
        ++b.records_in;
        std::ifstream in(f, std::ios::binary);
        std::ostringstream buf;
        buf << in.rdbuf();
        std::string raw = buf.str();
        if (raw.size() > src_.max_message_bytes) {
          b.rejects.emplace_back(nlohmann::json{{"source", src_.name}, {"type", "email.received"},
                                                {"data", {{"file", f.filename().string()}}}},
                                 src_.name + ": " + f.filename().string() + " is larger than max_message_bytes");
          continue;
        }
        auto mail = parse_mail(raw).to_json();
        if (mail["message_id"].get<std::string>().empty())
          mail["message_id"] = "<" + memory::content_hash(raw).substr(0, 32) + "@maildir>";
        if (mail["thread_id"].get<std::string>().empty()) mail["thread_id"] = mail["message_id"];
        auto m = map_record(src_.mapping, src_.name, mail, unix_now_ms());
        if (m.event) b.events.push_back(std::move(*m.event));
        else b.rejects.emplace_back(std::move(m.raw_event), m.reject_reason);
      }
      auto n = inbox_.commit(b, &state_, false);
      if (!n) return n.err();
      report.add(b.records_in, *n);
      if (after_commit) after_commit(report.commits);
      for (const auto& f : chunk) {
        auto name = f.filename().string();
        auto target = dir / "cur" / (name.find(":2,") == std::string::npos ? name + ":2,S" : name);
        fs::rename(f, target, ec);  // a failure leaves it in new/: read again, deduplicated
      }
    }
    return ok_v;
  }

  maildir_source src_;
  event_inbox& inbox_;
  store& db_;
  connector_state state_;
};

}  // namespace

record_mapping default_mail_mapping() {
  record_mapping m;
  m.type = "email.received";
  m.id = {"message_id", false};
  m.occurred_at = {"date", true};
  for (const char* f : {"from", "thread_id", "message_id"}) m.fields.emplace_back(f, field_source{f, false});
  for (const char* f : {"subject", "from_name", "to", "text", "in_reply_to"}) m.fields.emplace_back(f, field_source{f, true});
  return m;
}

std::unique_ptr<connector> make_maildir_connector(maildir_source src, event_inbox& inbox, store& db) {
  if (src.mapping.id.path.empty()) src.mapping = default_mail_mapping();
  return std::make_unique<maildir_connector>(std::move(src), inbox, db);
}

}  // namespace keel::connectors
