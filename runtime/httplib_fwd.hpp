// Forward declarations of the cpp-httplib types that Keel headers name, so
// those headers do not pull in httplib.h (a large header) everywhere.
#pragma once

namespace httplib {
class Server;
struct Request;
struct Response;
class ContentReader;
}  // namespace httplib
