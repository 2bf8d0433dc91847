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

// http_request for the subcommands: on a failure or an error status prints "error: " and the
// server's message to stderr and returns false; else `answer` gets the body.
bool api_call(const std::string& addr, const std::string& method, const std::string& target,
              const std::string& body, std::string& answer);

}  // namespace sluice::cli
