#pragma once
// Avro schemas (Apache Avro specification 1.11, "Schema Declaration"): parsed from their JSON
// form into a graph of nodes and validated as the specification demands (names, namespaces,
// unions, enum symbols, fixed sizes, field defaults against their types), then printed in the
// Parsing Canonical Form (the form two equal schemas share whatever their whitespace, docs or
// attribute order) and checked for compatibility by the specification's schema resolution
// rules.
//
// A schema owns its nodes; nodes point at each other (a record may refer to itself by name),
// so a node is valid as long as its schema. Immutable once parsed: thread-safe to share.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::schema::avro {

enum class type : uint8_t {
  null,
  boolean,
  int32,    // "int"
  int64,    // "long"
  float32,  // "float"
  float64,  // "double"
  bytes,
  string,
  record,
  enumeration,  // "enum"
  array,
  map,
  union_type,  // [...]
  fixed,
};

// The specification's name of a type ("int", "record", "union").
std::string_view name_of(type t);

struct node;

struct field {
  std::string name;
  std::vector<std::string> aliases;
  const node* schema = nullptr;
  std::optional<std::string> default_json;  // the "default" attribute, minified JSON
};

struct node {
  avro::type type = type::null;
  // Named types (record, enum, fixed): the full name ("ns.Name") and aliases as full names.
  std::string full_name;
  std::vector<std::string> aliases;
  std::vector<field> fields;                // record
  std::vector<std::string> symbols;         // enum
  std::optional<std::string> enum_default;  // enum
  const node* items = nullptr;              // array items, map values
  std::vector<const node*> branches;        // union
  int64_t size = 0;                         // fixed
  // A logical type the annotated type allows ("timestamp-millis" on a long, "decimal" on
  // bytes or fixed, ...); empty otherwise (the specification says to ignore invalid ones).
  std::string logical_type;
  int32_t precision = 0, scale = 0;  // decimal

  bool named() const {
    return type == type::record || type == type::enumeration || type == type::fixed;
  }
  // The name without its namespace.
  std::string_view short_name() const;
  // Index of the field called `name` (or aliased so), -1 if none.
  int field_index(std::string_view name) const;
};

class schema {
 public:
  // Parses and validates the JSON text of a schema, whose named types may be defined in
  // `references` (schema texts parsed first, as the registry's schema references). On failure:
  // nullptr and `error` says what and where ("field 'amount' of record 'Payment': default
  // 'x' is not a double").
  static std::shared_ptr<const schema> parse(std::string_view json, std::string& error,
                                             const std::vector<std::string>& references = {});

  const node& root() const { return *root_; }
  // The Parsing Canonical Form: names fully qualified, only the attributes that matter to
  // reading (type, name, fields, symbols, items, values, size), fixed order, no whitespace.
  const std::string& canonical() const { return canonical_; }
  // The schema as written, minified (docs, defaults and attributes kept).
  const std::string& text() const { return text_; }

 private:
  schema() = default;
  friend struct schema_builder;
  std::vector<std::unique_ptr<node>> nodes_;
  const node* root_ = nullptr;
  std::string canonical_, text_;
};

// One reason why data written with one schema cannot be read with another, located by a path
// in the reader's schema ("/fields/2/type").
struct incompatibility {
  std::string kind;  // Confluent's error types: READER_FIELD_MISSING_DEFAULT_VALUE, TYPE_MISMATCH,
                     // NAME_MISMATCH, FIXED_SIZE_MISMATCH, MISSING_ENUM_SYMBOLS,
                     // MISSING_UNION_BRANCH
  std::string path;
  std::string message;
};

// What keeps `reader` from reading data written with `writer` (empty: it can), by the
// specification's "Schema Resolution": promotions int->long->float->double and
// string<->bytes, record fields matched by name or reader alias (a reader field missing from
// the writer needs a default), enum symbols, fixed sizes, union branches.
std::vector<incompatibility> check_resolution(const node& reader, const node& writer);

}  // namespace sluice::schema::avro
