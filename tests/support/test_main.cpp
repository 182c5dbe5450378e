// The one translation unit that defines Boost.Test's main for each suite binary.
#define BOOST_TEST_MODULE keel
#include <boost/test/unit_test.hpp>
