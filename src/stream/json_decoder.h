#pragma once
// Decodes JSON records into rows of a declared schema (simdjson On-Demand).
//
// Fields are matched by name (exactly, or else case-insensitively); unknown fields are
// ignored and missing ones are NULL. A value that does not fit its column's type is an
// error with the column named, so that the record can go to the dead-letter topic.
// Not thread-safe: one decoder per query thread.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stream/record_decoder.h"
#include "stream/value.h"

namespace sluice::stream {

class json_decoder final : public record_decoder {
 public:
  // Columns not `needed` (when given) stay NULL without being decoded.
  explicit json_decoder(std::vector<field_type> schema, std::vector<bool> needed = {});
  ~json_decoder() override;
  json_decoder(const json_decoder&) = delete;
  json_decoder& operator=(const json_decoder&) = delete;

  // Fills `out` (resized to the schema) from one JSON object. False and `err` on failure.
  bool decode(std::string_view json, row& out, std::string& err) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::stream
