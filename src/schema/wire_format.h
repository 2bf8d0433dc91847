#pragma once
// Confluent's wire format for records whose schema is in a registry: one magic byte 0, the
// schema id (4 bytes, big-endian), then the value in the schema's binary encoding (Avro).
//
// registry_avro_decoder reads such values into a source's columns: each schema id is looked up
// in the registry once (then the decoder made for it is cached in the query thread), so the
// data path never asks the registry per record. Records written with any registered version
// are read through Avro's schema resolution by field name.

#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stream/record_decoder.h"

namespace sluice::schema {

class registry;

inline constexpr uint8_t k_wire_magic = 0;
inline constexpr size_t k_wire_header = 5;

// The schema id of a framed value; nullopt (and `err`) when it is not framed.
std::optional<int32_t> framed_schema_id(std::string_view value, std::string& err);
// Appends the header of a value of schema `id`.
void append_wire_header(std::string& out, int32_t id);

// The JSON of a Confluent-framed value whose schema is in `registry`, whatever its format:
// Avro's JSON encoding (schema/avro_json.h; unions wrapped or bare), Protobuf's JSON mapping
// (proto field names), or the JSON itself. Nullopt and `err` when it is not one. Looks the
// schema up per call: for HTTP readers, not the SQL data path.
std::optional<std::string> framed_to_json(const registry& registry, std::string_view value,
                                          bool wrap_unions, std::string& err);

class parsed_schema;
// A framed value of schema `id` (`schema` parsed) from a JSON document: Avro from Avro's JSON
// encoding, Protobuf from Protobuf's JSON mapping (the first message), JSON validated against
// its JSON Schema. Nullopt and `err` (what does not fit, and where) otherwise.
std::optional<std::string> framed_from_json(const parsed_schema& schema, int32_t id,
                                            simdjson::dom::element doc, std::string& err);

// Decoders of Confluent-framed Avro values, one per query input. `reader_id` (non-zero): the
// schema the columns come from, whose defaults fill fields a record's writer schema lacks.
stream::decoder_factory avro_decoder_factory(std::shared_ptr<const registry> registry,
                                             int32_t reader_id = 0);
// Decoders of Confluent-framed Protobuf values (schema id, message indexes, message).
stream::decoder_factory protobuf_decoder_factory(std::shared_ptr<const registry> registry);
// Decoders of Confluent-framed JSON values: each validated against its JSON Schema (an invalid
// one is an error naming the path and keyword), then read into the columns by name.
stream::decoder_factory json_schema_decoder_factory(std::shared_ptr<const registry> registry);

// Writes rows as Confluent-framed Avro values of schema `id`, which must be
// avro_schema_for(columns, ...).
std::unique_ptr<stream::record_encoder> make_avro_encoder(int32_t id,
                                                          std::vector<stream::field_type> columns);
// ... as Protobuf messages of protobuf_schema_for(columns, ...) (message index [0]).
std::unique_ptr<stream::record_encoder> make_protobuf_encoder(
    int32_t id, std::vector<stream::field_type> columns);
// ... as JSON of json::json_schema_for(columns, ...).
std::unique_ptr<stream::record_encoder> make_json_schema_encoder(
    int32_t id, std::vector<stream::field_type> columns);

}  // namespace sluice::schema
