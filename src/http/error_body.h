#pragma once
// The body of every error answer of the HTTP API: {"error_code":..,"message":..}.

#include <string>
#include <string_view>

#include "base/json_writer.h"

namespace sluice::http {

inline std::string error_body(int code, std::string_view message) {
  json_writer w;
  w.begin_object().key("error_code").value(int64_t{code}).key("message").value(message);
  w.end_object();
  return std::move(w).str();
}

}  // namespace sluice::http
