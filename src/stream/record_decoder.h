#pragma once
// How a query turns a record's value bytes into a row of its source's columns: JSON by default
// (stream/json_decoder.h); other formats (Avro with a schema registry, schema/) plug in through
// the source's decoder factory.
//
// Not thread-safe: one decoder per query thread.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stream/value.h"

namespace sluice::stream {

class record_decoder {
 public:
  virtual ~record_decoder() = default;
  // Fills `out` (resized to the columns) from one record value. False and `err` on failure
  // (the record goes to the dead-letter topic with `err`).
  virtual bool decode(std::string_view payload, row& out, std::string& err) = 0;
  // decode() for a record that may say its row is deleted (a changelog format such as
  // Debezium's): `removed` is set, and `out` holds the deleted row (at least its key columns).
  virtual bool decode_change(std::string_view payload, row& out, bool& removed, std::string& err) {
    removed = false;
    return decode(payload, out, err);
  }
};

// Makes the decoder of a source with these columns; columns not `needed` (when given) may be
// left NULL without being decoded.
using decoder_factory = std::function<std::unique_ptr<record_decoder>(
    const std::vector<field_type>& columns, const std::vector<bool>& needed)>;

// How a sink turns a row into a record value.
class record_encoder {
 public:
  virtual ~record_encoder() = default;
  // Appends the encoding of `r` to `out`. Throws std::runtime_error when it cannot be encoded.
  virtual void append(std::string& out, const row& r) = 0;
  virtual std::string_view format() const = 0;  // "JSON", "AVRO" (EXPLAIN)
};

}  // namespace sluice::stream
