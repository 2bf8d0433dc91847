// The schema registry's decoders under one fuzzer: the first byte picks what the rest is.
// Each must answer bad input with its error (a null schema with a message, a false decode),
// never crash, hang or read out of bounds.
//   0  an Avro schema's JSON text: parsed, printed in canonical form, resolved against itself
//   1  a Confluent-framed value (magic, schema id) of a fixed schema with every Avro type,
//      decoded into SQL rows
//   2  a schema and a value (split at the first NUL byte): the value decoded with the schema
//   3  Protobuf message indexes and a message of a fixed .proto with every field kind
//   4  .proto text: parsed (libprotoc), columns derived, checked against itself
//   5  a JSON Schema and a document (split at the first NUL byte): the schema parsed, the
//      document validated, the schema's columns derived and its compatibility with itself

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "schema/avro_codec.h"
#include "schema/avro_schema.h"
#include "schema/json_schema.h"
#include "schema/protobuf_codec.h"
#include "schema/protobuf_schema.h"
#include "schema/wire_format.h"

using namespace sluice;

namespace {

constexpr std::string_view k_every_type = R"({"type":"record","name":"All","namespace":"f",
  "fields":[
    {"name":"n","type":"null"},{"name":"b","type":"boolean"},{"name":"i","type":"int"},
    {"name":"l","type":"long"},{"name":"f","type":"float"},{"name":"d","type":"double"},
    {"name":"by","type":"bytes"},{"name":"s","type":"string"},
    {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}},
    {"name":"fx","type":{"type":"fixed","name":"Fx","size":3}},
    {"name":"a","type":{"type":"array","items":["null","long"]}},
    {"name":"m","type":{"type":"map","values":{"type":"record","name":"Inner",
       "fields":[{"name":"x","type":"int"},{"name":"next","type":["null","Inner"]}]}}},
    {"name":"u","type":["null","string","double"]},
    {"name":"ts","type":{"type":"long","logicalType":"timestamp-micros"}},
    {"name":"dt","type":{"type":"int","logicalType":"date"}},
    {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
    {"name":"decf","type":{"type":"fixed","name":"D","size":4,"logicalType":"decimal",
       "precision":6,"scale":1}}]})";

constexpr std::string_view k_every_proto = R"(syntax = "proto3";
package f;
import "google/protobuf/timestamp.proto";
message All {
  enum E { A = 0; B = 1; }
  int32 i32 = 1; int64 i64 = 2; uint32 u32 = 3; uint64 u64 = 4; sint32 s32 = 5; sint64 s64 = 6;
  fixed32 f32 = 7; fixed64 f64 = 8; sfixed32 sf32 = 9; sfixed64 sf64 = 10; float fl = 11;
  double db = 12; bool b = 13; string s = 14; bytes by = 15; E e = 16;
  repeated int64 packed = 17; repeated string names = 18; map<string, Inner> m = 19;
  Inner inner = 20; google.protobuf.Timestamp at = 21; optional int32 maybe = 22;
  oneof choice { string x = 23; int32 y = 24; }
  message Inner { int32 v = 1; Inner next = 2; }
})";

void decode_with(const schema::avro::schema& s, std::string_view value) {
  std::string err;
  auto cols = schema::columns_of(s.root(), err);
  if (!cols) return;
  schema::avro_row_decoder d(s.root(), *cols, {});
  stream::row r;
  if (d.decode(value, r, err)) {
    // What decodes re-encodes with sluice's own schema for these columns.
    std::string out;
    schema::avro_encode_row(out, *cols, r);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string err;
  switch (data[0] % 6) {
    case 0: {
      auto s = schema::avro::schema::parse(in, err);
      if (s) (void)schema::avro::check_resolution(s->root(), s->root());
      break;
    }
    case 1: {
      static auto every = schema::avro::schema::parse(k_every_type, err);
      if (!schema::framed_schema_id(in, err)) break;
      decode_with(*every, in.substr(schema::k_wire_header));
      break;
    }
    case 2: {
      auto nul = in.find('\0');
      if (nul == std::string_view::npos) break;
      auto s = schema::avro::schema::parse(in.substr(0, nul), err);
      if (s) decode_with(*s, in.substr(nul + 1));
      break;
    }
    case 3: {
      static auto every = schema::protobuf::schema::parse(k_every_proto, {}, err);
      static auto columns = schema::columns_of(*every->message({}));
      auto indexes = schema::read_message_indexes(in, err);
      if (!indexes) break;
      const auto* message = every->message(*indexes);
      if (!message) break;
      schema::protobuf_row_decoder d(
          *message, message == every->message({}) ? columns : schema::columns_of(*message), {});
      stream::row r;
      (void)d.decode(in, r, err);
      break;
    }
    case 5: {
      auto nul = in.find('\0');
      auto s = schema::json::schema::parse(in.substr(0, nul), {}, err);
      if (!s) break;
      (void)schema::json::columns_of(*s, err);
      (void)schema::json::check_compatibility(*s, *s);
      if (nul == std::string_view::npos) break;
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      auto rest = in.substr(nul + 1);
      if (!parser.parse(rest.data(), rest.size()).get(doc)) (void)s->validate(doc, err);
      break;
    }
    case 4: {
      auto s = schema::protobuf::schema::parse(in, {}, err);
      if (s) {
        (void)schema::columns_of(*s->message({}));
        (void)schema::protobuf::check_compatibility(*s, *s);
      }
      break;
    }
  }
  return 0;
}
