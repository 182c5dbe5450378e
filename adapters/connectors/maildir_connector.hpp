// Inbound mail from a Maildir folder: each message in DIR/new becomes an
// event {source: <name>, type: email.received, id: <Message-ID>, data:
// {from, from_name, to, subject, text, thread_id, in_reply_to, message_id, date}}.
//
//   - name: support_mail
//     kind: maildir
//     path: /var/mail/support          # holds new/ and cur/
//     mapping: ...                      # optional; the default is above
//
// A batch of messages commits (events + state) first; only then are their
// files moved to cur/ with the Seen flag (":2,S"). A crash in between leaves
// them in new/: the next sync reads them again and they deduplicate by
// Message-ID. A message without a Message-ID is identified by its content hash.
#pragma once

#include <memory>
#include <string>

#include "adapters/connectors/connector.hpp"
#include "adapters/connectors/event_inbox.hpp"
#include "adapters/connectors/record_mapping.hpp"

namespace keel::connectors {

struct maildir_source {
  std::string name;
  std::string path;
  std::size_t batch = 100;
  std::size_t max_message_bytes = 10 << 20;
  record_mapping mapping;  // default_mail_mapping() when not configured
};

record_mapping default_mail_mapping();
std::unique_ptr<connector> make_maildir_connector(maildir_source src, event_inbox& inbox, store& db);

}  // namespace keel::connectors
