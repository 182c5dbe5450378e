// Lets BOOST_TEST print nlohmann::json comparisons when they fail
// (operator<< for the value_t enum that some comparisons decompose into).
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

NLOHMANN_JSON_NAMESPACE_BEGIN
namespace detail {
inline std::ostream& operator<<(std::ostream& o, value_t t) { return o << "json type " << static_cast<int>(t); }
}  // namespace detail
NLOHMANN_JSON_NAMESPACE_END
