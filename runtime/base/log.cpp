#include "runtime/base/log.hpp"

#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace keel {

status setup_logging(const std::string& level, const std::string& component) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    return error{errc::config, "unknown log level '" + level + "'; use trace, debug, info, warn, error or off"};
  auto logger = spdlog::stderr_color_mt(component, ::isatty(2) ? spdlog::color_mode::automatic
                                                               : spdlog::color_mode::never);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v", spdlog::pattern_time_type::utc);
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return ok_v;
}

}  // namespace keel
