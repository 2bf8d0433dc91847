#pragma once
// The dashboard's files (web/src and the uPlot chart library), embedded into the binary at
// build time by web/embed_assets.cc and served by the HTTP server at their paths.

#include <string_view>

namespace sluice::http {

struct asset {
  std::string_view path;          // "/", "/app.js", ...
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view body;
  std::string_view etag;  // quoted, a hash of the body
};

// The file served at `path`, or nullptr.
const asset* find_asset(std::string_view path);

}  // namespace sluice::http
