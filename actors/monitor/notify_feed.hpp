// What the monitor hands the notifier (runtime/control/notify.hpp) on each
// check: the alert log's raises and resolutions since the last one it
// handled, and the approvals and questions that opened in the inbox since
// the last check. Each goes into the outbox in the same LevelDB batch as
// the cursor or marker that records it as handled, so a crash never loses
// one and never queues one twice. A node with no `notify:` queues nothing
// (and keeps its cursor at the end of the log, so turning notify on later
// does not replay the past).
#pragma once

#include "actors/control/services.hpp"
#include "runtime/control/monitor_rules.hpp"

namespace keel {

void feed_notifications(control_services& c, store& db, const control::monitor_snapshot& snap);

}  // namespace keel
