# Debian's libcaf-dev ships neither a CMake package nor a pkg-config file,
# so import CAF 0.17 by hand as caf::core.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
if(NOT EXISTS "${CAF_INCLUDE_DIR}/caf/config.hpp")
  message(FATAL_ERROR "CAF headers found at ${CAF_INCLUDE_DIR} look incomplete; install libcaf-dev")
endif()
add_library(caf::core UNKNOWN IMPORTED)
set_target_properties(caf::core PROPERTIES
  IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES Threads::Threads)
