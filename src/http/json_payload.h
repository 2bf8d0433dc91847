#pragma once
// A record's key or value in a JSON answer: embedded as is when it is JSON, else as a JSON
// string of its bytes (invalid UTF-8 replaced by U+FFFD, so that the answer stays valid JSON);
// null for a null key or value. Shared by the topic tail, REST Proxy consumers and queues.

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

namespace sluice::http {

// `parser` is reused across calls (it keeps its buffers).
void append_json_payload(std::string& out, std::optional<std::string_view> bytes,
                         simdjson::dom::parser& parser);

// `text` as a JSON string, invalid UTF-8 replaced by U+FFFD (header values, any bytes).
void append_json_text(std::string& out, std::string_view text);

}  // namespace sluice::http
