#pragma once
// Avro's binary encoding (specification, "Binary Encoding") to and from SQL rows.
//
// Decoding reads a record written with the writer's schema into the reader's columns, matched
// by field name (exactly, else case-insensitively), as schema resolution does: writer fields
// the reader lacks are skipped, columns the writer lacks are NULL. Logical types become SQL
// values: timestamp-millis/-micros/-nanos and date a TIMESTAMP, decimal a DECIMAL, enums and
// uuids a VARCHAR. Encoding writes every column as a union of null and its type.
//
// Not thread-safe: one decoder per query thread. The schema a decoder was made from must
// outlive it.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/avro_schema.h"
#include "stream/value.h"

namespace sluice::schema {

// The SQL columns of an Avro record schema: what a stream declared without columns gets.
// Nullopt and `err` when the root is not a record.
std::optional<std::vector<stream::field_type>> columns_of(const avro::node& root, std::string& err);

class avro_row_decoder {
 public:
  // REQUIRES: `writer` is a record (columns_of succeeds on it). `reader` (optional): the
  // record schema the columns come from, whose field defaults fill the columns the writer
  // lacks (else they are NULL), as Avro's schema resolution does.
  avro_row_decoder(const avro::node& writer, const std::vector<stream::field_type>& columns,
                   const std::vector<bool>& needed, const avro::node* reader = nullptr);
  ~avro_row_decoder();
  avro_row_decoder(const avro_row_decoder&) = delete;
  avro_row_decoder& operator=(const avro_row_decoder&) = delete;

  // Fills `out` (resized to the columns) from one Avro-encoded record, which must end where
  // `data` ends. False and `err` (naming the field) on failure.
  bool decode(std::string_view data, stream::row& out, std::string& err);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// An Avro record schema (JSON text) for rows of `columns`, each field a union of null and the
// column's type with default null. `name` is the record's full name (made a valid Avro name).
std::string avro_schema_for(const std::vector<stream::field_type>& columns, std::string_view name);

// Appends `r` encoded with the schema avro_schema_for(columns) gives.
void avro_encode_row(std::string& out, const std::vector<stream::field_type>& columns,
                     const stream::row& r);

}  // namespace sluice::schema
