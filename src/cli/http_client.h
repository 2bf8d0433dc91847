#pragma once
// A blocking HTTP/1.1 request to a sluice server, for the subcommands that use its HTTP API.

#include <string>

#include "base/result.h"

namespace sluice::cli {

struct http_answer {
  unsigned status = 0;
  std::string body;
};

// `addr` is HOST:PORT. Errors: io_error (cannot connect, or the connection broke).
result<http_answer> http_request(const std::string& addr, const std::string& method,
                                 const std::string& target, const std::string& body = {});

}  // namespace sluice::cli
