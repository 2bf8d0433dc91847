#pragma once
// Protobuf schemas: the text of a .proto file (proto2 or proto3) parsed by libprotoc's parser
// into descriptors, with its imports resolved from the schema's references (by import path)
// and from the well-known types (google/protobuf/*.proto). Printed back in a normal form (the
// descriptor's .proto rendering), which is what the registry stores and compares.
//
// Compatibility follows Confluent's rules for Protobuf, by field number: a field's kind
// (singular, repeated, map), its scalar type (within the wire-compatible groups
// int32/uint32/int64/uint64/bool/enum, sint32/sint64, fixed32/sfixed32, fixed64/sfixed64,
// string/bytes) and its message type must stay; messages must not disappear; required fields
// must not come or go; the package must not change. Adding and removing optional fields is
// compatible.
//
// Immutable once parsed: thread-safe to share.

#include <google/protobuf/descriptor.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schema/avro_schema.h"
#include "schema/parsed_schema.h"

namespace sluice::schema::protobuf {

class schema {
 public:
  static std::shared_ptr<const schema> parse(std::string_view text,
                                             const std::vector<referenced_text>& references,
                                             std::string& error);
  ~schema();

  const google::protobuf::FileDescriptor& file() const { return *file_; }
  // The message Confluent's message indexes name: [] is the first message of the file,
  // [i, j] the j-th nested type of the i-th; nullptr when there is none.
  const google::protobuf::Descriptor* message(const std::vector<int32_t>& indexes) const;
  // The schema in normal form (.proto text).
  const std::string& text() const { return text_; }

 private:
  schema() = default;
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  const google::protobuf::FileDescriptor* file_ = nullptr;
  std::string text_;
};

// What keeps `reader` from reading what `writer` wrote (empty: it can).
std::vector<avro::incompatibility> check_compatibility(const schema& reader, const schema& writer);

}  // namespace sluice::schema::protobuf
