#include "actors/config_check.hpp"

#include "adapters/connectors/connector_config.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/control/accounts.hpp"
#include "runtime/control/model_config.hpp"
#include "runtime/control/monitor_rules.hpp"
#include "runtime/control/notify.hpp"
#include "runtime/control/policy.hpp"
#include "storage/memory/memory_config.hpp"

namespace keel {

status check_node_config(const node_config& cfg) {
  const auto origin = cfg.source_origin.empty() ? std::string("node config") : cfg.source_origin;
  if (!cfg.crash_at.empty() && !cfg.fault_injection)
    return error{errc::config, origin + ": workflows.crash_at is set but fault injection is off, so it would do "
                                        "nothing: remove it, or start the node with --fault-injection (tests only)"};
  auto retention = cfg.control.audit_retention.count();
  if (retention > 0 && retention < 3'600'000 && !cfg.fault_injection)
    return error{errc::config, origin + ": audit.retention is " + format_duration(cfg.control.audit_retention) +
                                   "; keep the audit trail at least 1h (shorter only with fault injection, in tests)"};
  if (auto r = control::parse_identity(cfg.source_text, origin); !r) return r.err();
  if (auto r = control::parse_model_config(cfg.source_text, origin); !r) return r.err();
  if (auto r = control::parse_monitor_config(cfg.source_text, origin); !r) return r.err();
  if (auto r = control::parse_notify_config(cfg.source_text, origin); !r) return r.err();
  if (!cfg.control.policy_file.empty())
    if (auto r = control::policy::load_file(cfg.control.policy_file); !r)
      return error{r.err().code, r.err().message + " (check it with `keelctl policy check " + cfg.control.policy_file + "`)"};
  if (auto r = memory::parse_memory_section(cfg.source_text, origin); !r) return r.err();
  if (auto r = connectors::parse_connectors(cfg.source_text, origin); !r) return r.err();
  return ok_v;
}

}  // namespace keel
