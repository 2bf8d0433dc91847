#pragma once
// JSON Schema (draft-07 keywords, which Confluent's registry defaults to): a schema parsed and
// compiled into a validator of JSON documents, the SQL columns of an object schema, and
// compatibility by Confluent's rules for JSON Schema.
//
// Validation keywords: type (with integer within number), enum, const, properties, required,
// additionalProperties (a boolean or a schema), patternProperties, min/maxProperties, items (a
// schema or a tuple), additionalItems, minItems, maxItems,
// uniqueItems, minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, minLength,
// maxLength, pattern (ECMA regexes through std::regex, on strings up to 4 KiB), allOf, anyOf,
// oneOf, not, $ref to
// "#/definitions/...", "#/$defs/..." or "#" and to referenced schemas by name. Unknown keywords
// (title, description, format, $schema, ...) are ignored, as the specification says; "format"
// "date-time" makes a column TIMESTAMP.
//
// Compatibility (reader = the new schema for BACKWARD): the reader must accept every document
// the writer accepts, judged keyword by keyword: types not narrowed, enums not narrowed, limits
// not tightened, properties not added to an open object model (a writer that allows any other
// property), not removed from a closed one, no property newly required, items alike.
//
// Immutable once parsed: thread-safe to share.

#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/avro_schema.h"
#include "schema/parsed_schema.h"
#include "stream/value.h"

namespace sluice::schema::json {

struct node;

class schema {
 public:
  static std::shared_ptr<const schema> parse(std::string_view text,
                                             const std::vector<referenced_text>& references,
                                             std::string& error);
  ~schema();

  // Whether `doc` is valid; false and `err` (the path and the keyword) when it is not.
  bool validate(simdjson::dom::element doc, std::string& err) const;
  // The schema minified.
  const std::string& text() const { return text_; }
  const node& root() const { return *root_; }

 private:
  friend struct builder;
  schema() = default;
  std::vector<std::unique_ptr<node>> nodes_;
  const node* root_ = nullptr;
  std::string text_;
};

// The columns of an object schema's properties; nullopt and `err` otherwise.
std::optional<std::vector<stream::field_type>> columns_of(const schema& s, std::string& err);

std::vector<avro::incompatibility> check_compatibility(const schema& reader, const schema& writer);

// A JSON Schema for rows of `columns` as sinks write them (json_row_encoder): an object titled
// `title` with a property per column, each nullable; TIMESTAMP a date-time string.
std::string json_schema_for(const std::vector<stream::field_type>& columns, std::string_view title);

}  // namespace sluice::schema::json
