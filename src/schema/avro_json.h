#pragma once
// Avro values as JSON and back (specification, "JSON Encoding"), for clients that speak JSON:
// the REST Proxy's Avro format, the topic tail and the dashboard.
//
// JSON to binary takes a union's value either as Avro's JSON encoding writes it
// ({"string": "x"}, the branch named by its type or full name) or bare (the first branch that
// accepts it); bytes and fixed are strings of code points 0-255. Binary to JSON writes unions
// wrapped (Avro's JSON encoding, what Confluent's tools print) or bare (easier to read).

#include <simdjson.h>

#include <string>
#include <string_view>

#include "base/json_writer.h"
#include "schema/avro_schema.h"

namespace sluice::schema {

// Appends the binary encoding of `v` as `schema` to `out`. False and `err` (with the path of
// the value that does not fit) when it cannot be encoded.
bool json_to_avro(const avro::node& schema, simdjson::dom::element v, std::string& out,
                  std::string& err);

// Writes the value encoded in `data` (exactly; trailing bytes are an error) as JSON.
bool avro_to_json(const avro::node& schema, std::string_view data, json_writer& w, bool wrap_unions,
                  std::string& err);

}  // namespace sluice::schema
