// libFuzzer target for the Maildir connector's message reader
// (keel::connectors::parse_mail): any bytes in a mail file give a message
// whose every field is UTF-8 (the event is dumped, hashed and stored, and
// nlohmann's dump() throws on anything else), never a crash or a throw.
// The reader is compiled in here with the small pure pieces it uses.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "adapters/connectors/mail_message.cpp"
#include "runtime/base/crypto.cpp"
#include "storage/memory/event_values.cpp"
#include "storage/memory/schema.cpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string raw(reinterpret_cast<const char*>(data), size);
  auto m = keel::connectors::parse_mail(raw);
  for (const std::string* f : {&m.from, &m.from_name, &m.to, &m.subject, &m.message_id, &m.in_reply_to, &m.thread_id,
                               &m.date, &m.text}) {
    if (!keel::utf8::valid(*f)) {
      std::fprintf(stderr, "a field is not UTF-8 (%zu bytes)\n", f->size());
      std::abort();
    }
  }
  if (!m.date.empty() && !keel::parse_timestamp(m.date)) {
    std::fprintf(stderr, "date is not RFC 3339: %s\n", m.date.c_str());
    std::abort();
  }
  (void)m.to_json().dump();  // throws (and so aborts here) on bytes that are not UTF-8
  return 0;
}
