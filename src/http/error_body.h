#pragma once
// The body of every error answer of the HTTP API: {"error_code":..,"message":..}.

#include <string>
#include <string_view>

#include "base/json_writer.h"

namespace sluice::http {

inline std::string error_body(int code, std::string_view message) {
  std::string out = "{\"error_code\":" + std::to_string(code) + ",\"message\":";
  append_json_string(out, message);
  return out + "}";
}

}  // namespace sluice::http
