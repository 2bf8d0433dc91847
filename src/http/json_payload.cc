#include "http/json_payload.h"
#include "base/json_writer.h"

#include "stream/value.h"

namespace sluice::http {

void append_json_payload(std::string& out, std::optional<std::string_view> b,
                         simdjson::dom::parser& parser) {
  if (!b) {
    out += "null";
    return;
  }
  simdjson::dom::element e;
  if (!b->empty() && !parser.parse(b->data(), b->size()).get(e)) {
    out += simdjson::minify(e);
    return;
  }
  append_json_text(out, *b);
}

void append_json_text(std::string& out, std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= text.size();
    for (size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (!ok) {
      clean += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    clean.append(text, i, n);
    i += n;
  }
  append_json_string(out, clean);
}

}  // namespace sluice::http
