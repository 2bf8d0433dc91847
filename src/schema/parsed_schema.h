#pragma once
// A registered schema of any format, parsed: what the registry needs from a format (validate,
// compare, check compatibility). One implementation per format: Avro (avro_schema.h),
// Protobuf (protobuf_schema.h), JSON Schema (json_schema.h).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schema/avro_schema.h"

namespace sluice::schema {

enum class schema_type { avro, protobuf, json };

// "AVRO", "PROTOBUF", "JSON" (the registry's names).
std::string_view name_of(schema_type t);
// Any case; false for an unknown name.
bool parse_schema_type(std::string_view name, schema_type& out);

class parsed_schema {
 public:
  virtual ~parsed_schema() = default;
  virtual schema_type type() const = 0;
  // The text kept and served: the schema as registered, minified.
  virtual const std::string& text() const = 0;
  // Why this schema, as the reader, cannot read data written with `writer` (same format).
  virtual std::vector<avro::incompatibility> can_read(const parsed_schema& writer) const = 0;
};

// A referenced schema: the name the referring schema knows it by (Avro: a type's full name;
// Protobuf: the import path) and its text.
struct referenced_text {
  std::string name;
  std::string text;
};

// Parses a schema of `type` whose types may come from `references` (dependencies first).
// Nullptr and `error` when it is not a valid schema.
std::shared_ptr<const parsed_schema> parse_schema(schema_type type, std::string_view text,
                                                  const std::vector<referenced_text>& references,
                                                  std::string& error);

// The Avro schema behind a parsed Avro schema (nullptr for other formats).
std::shared_ptr<const avro::schema> avro_of(const std::shared_ptr<const parsed_schema>& s);
std::shared_ptr<const avro::schema> avro_of(const parsed_schema& s);

namespace protobuf {
class schema;
}
// The Protobuf schema behind a parsed Protobuf schema (nullptr for other formats).
std::shared_ptr<const protobuf::schema> protobuf_of(const std::shared_ptr<const parsed_schema>& s);
std::shared_ptr<const protobuf::schema> protobuf_of(const parsed_schema& s);

namespace json {
class schema;
}
// The JSON Schema behind a parsed JSON schema (nullptr for other formats).
std::shared_ptr<const json::schema> json_schema_of(const std::shared_ptr<const parsed_schema>& s);
std::shared_ptr<const json::schema> json_schema_of(const parsed_schema& s);

}  // namespace sluice::schema
