#pragma once
// Protobuf's binary encoding to SQL rows, driven by a message's descriptor (libprotobuf's,
// from the registered .proto) but decoded here: each field number is compiled to the column it
// fills, so that a record costs one pass over its bytes and no DynamicMessage.
//
// Fields are matched to columns by name (exactly, else case-insensitively). Proto3 scalars that
// are absent read as their default (0, "", false, the first enum value), as Protobuf defines;
// fields with presence (messages, proto3 optional, proto2) read as NULL when absent. Enums
// become their value's name, google.protobuf.Timestamp a TIMESTAMP, messages a ROW, repeated
// fields an ARRAY and maps a MAP. Unknown fields are skipped.
//
// Not thread-safe: one decoder per query thread. The descriptor must outlive the decoder.

#include <google/protobuf/descriptor.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stream/value.h"

namespace sluice::schema {

// The SQL columns of a message: what a stream declared without columns gets.
std::vector<stream::field_type> columns_of(const google::protobuf::Descriptor& message);

class protobuf_row_decoder {
 public:
  protobuf_row_decoder(const google::protobuf::Descriptor& message,
                       const std::vector<stream::field_type>& columns,
                       const std::vector<bool>& needed);
  ~protobuf_row_decoder();
  protobuf_row_decoder(const protobuf_row_decoder&) = delete;
  protobuf_row_decoder& operator=(const protobuf_row_decoder&) = delete;

  // Fills `out` (resized to the columns) from one encoded message. False and `err` on failure.
  bool decode(std::string_view data, stream::row& out, std::string& err);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// A .proto (proto3) for rows of `columns`: one message named `name` (made a valid identifier)
// in package "sluice" with a field per column, numbered from 1, each `optional` so that NULL
// is absent; TIMESTAMP is google.protobuf.Timestamp, ROW a nested message, ARRAY a repeated
// field (NULL items are left out), MAP a map<string, T>.
std::string protobuf_schema_for(const std::vector<stream::field_type>& columns,
                                std::string_view name);
// Appends `r` encoded as the message protobuf_schema_for(columns, ...) defines.
void protobuf_encode_row(std::string& out, const std::vector<stream::field_type>& columns,
                         const stream::row& r);

// Confluent's message indexes after the schema id: a zig-zag varint count, then that many
// zig-zag varint indexes (a single 0 byte stands for [0]). Consumes them from `data`.
std::optional<std::vector<int32_t>> read_message_indexes(std::string_view& data, std::string& err);
void append_message_indexes(std::string& out, const std::vector<int32_t>& indexes);

}  // namespace sluice::schema
