// Avro schemas, their binary encoding and compatibility, and the registry's durability, checked
// against the examples of the Apache Avro specification (1.11) where it gives them.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "log/log.h"
#include "schema/avro_codec.h"
#include "schema/avro_schema.h"
#include "schema/json_schema.h"
#include "schema/protobuf_codec.h"
#include "schema/protobuf_schema.h"
#include "schema/registry.h"
#include "schema/wire_format.h"

namespace sluice::schema {
namespace {

using stream::data_type;
using stream::type_id;
using stream::value;

std::shared_ptr<const avro::schema> parse(std::string_view json) {
  std::string err;
  auto s = avro::schema::parse(json, err);
  EXPECT_TRUE(s) << json << ": " << err;
  return s;
}
std::string parse_error(std::string_view json) {
  std::string err;
  auto s = avro::schema::parse(json, err);
  EXPECT_FALSE(s) << json << " parsed";
  return err;
}
std::string bytes_of(std::initializer_list<int> b) {
  std::string out;
  for (int x : b)
    out.push_back(static_cast<char>(x));
  return out;
}
std::vector<stream::field_type> columns(const avro::schema& s) {
  std::string err;
  auto c = columns_of(s.root(), err);
  EXPECT_TRUE(c) << err;
  return c.value_or(std::vector<stream::field_type>{});
}
stream::row decode(const avro::schema& s, std::string_view data, std::string* error = nullptr) {
  avro_row_decoder d(s.root(), columns(s), {});
  stream::row r;
  std::string err;
  bool ok = d.decode(data, r, err);
  if (error)
    *error = ok ? "" : err;
  else
    EXPECT_TRUE(ok) << err;
  return r;
}

// --- the specification's binary encoding examples ---

TEST(AvroBinary, ZigZagLongsAsTheSpecificationLists) {
  // "Binary Encoding": 0 -> 00, -1 -> 01, 1 -> 02, -2 -> 03, 2 -> 04, -64 -> 7f, 64 -> 80 01.
  auto s = parse(R"({"type":"record","name":"r","fields":[{"name":"v","type":"long"}]})");
  std::pair<int64_t, std::string> cases[] = {{0, bytes_of({0x00})},       {-1, bytes_of({0x01})},
                                             {1, bytes_of({0x02})},       {-2, bytes_of({0x03})},
                                             {2, bytes_of({0x04})},       {-64, bytes_of({0x7f})},
                                             {64, bytes_of({0x80, 0x01})}};
  for (const auto& [n, enc] : cases) {
    auto r = decode(*s, enc);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].i, n) << n;
  }
  auto r = decode(*s, bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  EXPECT_EQ(r[0].i, INT64_MIN);
}

TEST(AvroBinary, RecordOfLongAndStringAsTheSpecificationShows) {
  // The specification's record "test" {a: long = 27, b: string = "foo"} is 36 06 66 6f 6f.
  auto s = parse(R"({"type":"record","name":"test","fields":[
      {"name":"a","type":"long"},{"name":"b","type":"string"}]})");
  auto r = decode(*s, bytes_of({0x36, 0x06, 0x66, 0x6f, 0x6f}));
  EXPECT_EQ(r[0].i, 27);
  EXPECT_EQ(r[1].str(), "foo");
}

TEST(AvroBinary, ArrayBlocksAndUnionsAsTheSpecificationShows) {
  // Array of longs [3, 27]: 04 06 36 00; union ["null","string"] "a": 02 02 61, null: 00.
  auto s = parse(R"({"type":"record","name":"r","fields":[
      {"name":"xs","type":{"type":"array","items":"long"}},
      {"name":"u","type":["null","string"]},{"name":"n","type":["null","string"]}]})");
  auto r = decode(*s, bytes_of({0x04, 0x06, 0x36, 0x00, 0x02, 0x02, 0x61, 0x00}));
  ASSERT_EQ(r[0].k, value::kind::nested);
  ASSERT_EQ(r[0].nest()->items.size(), 2u);
  EXPECT_EQ(r[0].nest()->items[1].i, 27);
  EXPECT_EQ(r[1].str(), "a");
  EXPECT_TRUE(r[2].is_null());
  // A block with a negative count carries its byte size: -2 items, 2 bytes, then 3 and 27.
  r = decode(*s, bytes_of({0x03, 0x04, 0x06, 0x36, 0x00, 0x00, 0x00}));
  EXPECT_EQ(r[0].nest()->items.size(), 2u);
}

TEST(AvroBinary, LogicalTypesBecomeSqlValues) {
  auto s = parse(R"({"type":"record","name":"r","fields":[
      {"name":"t","type":{"type":"long","logicalType":"timestamp-micros"}},
      {"name":"d","type":{"type":"int","logicalType":"date"}},
      {"name":"m","type":{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}},
      {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}]})");
  auto cols = columns(*s);
  EXPECT_EQ(cols[0].type->id, type_id::timestamp);
  EXPECT_EQ(cols[1].type->id, type_id::timestamp);
  EXPECT_EQ(cols[2].type->id, type_id::decimal);
  EXPECT_EQ(cols[3].type->id, type_id::varchar);
  // 1,500 us; day 1; unscaled -1 (ff) at scale 2; symbol B.
  auto r = decode(*s, bytes_of({0xb8, 0x17, 0x02, 0x02, 0xff, 0x02}));
  EXPECT_EQ(r[0].i, 1);
  EXPECT_EQ(r[1].i, 86'400'000);
  EXPECT_DOUBLE_EQ(r[2].d, -0.01);
  EXPECT_EQ(r[3].str(), "B");
}

TEST(AvroBinary, TruncatedAndTrailingBytesAreErrors) {
  auto s = parse(R"({"type":"record","name":"r","fields":[{"name":"b","type":"string"}]})");
  std::string err;
  decode(*s, bytes_of({0x06, 0x66}), &err);
  EXPECT_EQ(err, "truncated");
  decode(*s, bytes_of({0x00, 0x00}), &err);
  EXPECT_EQ(err, "1 bytes after the record");
  decode(*s, bytes_of({0x05}), &err);
  EXPECT_EQ(err, "a negative length");
}

TEST(AvroBinary, ZeroSizeItemsCannotAskForUnboundedWork) {
  auto s = parse(R"({"type":"record","name":"r","fields":[
      {"name":"xs","type":{"type":"array","items":"null"}}]})");
  std::string err;
  // A block of 2^62 nulls in ten bytes.
  decode(*s, bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}), &err);
  EXPECT_EQ(err, "too many array or map items");
}

TEST(AvroBinary, WriterFieldsMatchReaderColumnsByName) {
  // The writer has (a long, skip string, b int); the reader wants b, a and a column it lacks.
  auto w = parse(R"({"type":"record","name":"r","fields":[{"name":"a","type":"long"},
      {"name":"skip","type":"string"},{"name":"B","type":"int"}]})");
  std::vector<stream::field_type> cols{{"b", data_type::of(type_id::int64)},
                                       {"a", data_type::of(type_id::float64)},
                                       {"c", data_type::of(type_id::varchar)}};
  avro_row_decoder d(w->root(), cols, {});
  stream::row r;
  std::string err;
  ASSERT_TRUE(d.decode(bytes_of({0x04, 0x02, 0x78, 0x0e}), r, err)) << err;
  EXPECT_EQ(r[0].i, 7);
  EXPECT_DOUBLE_EQ(r[1].d, 2.0);
  EXPECT_TRUE(r[2].is_null());
}

TEST(AvroBinary, ColumnsTheWriterLacksTakeTheReaderDefaults) {
  auto writer = parse(R"({"type":"record","name":"r","fields":[{"name":"a","type":"long"}]})");
  auto reader = parse(R"({"type":"record","name":"r","fields":[{"name":"a","type":"long"},
      {"name":"unit","type":"string","default":"C"},{"name":"n","type":"int","default":7},
      {"name":"maybe","type":["null","long"],"default":null}]})");
  auto cols = columns(*reader);
  avro_row_decoder d(writer->root(), cols, {}, &reader->root());
  stream::row r;
  std::string err;
  ASSERT_TRUE(d.decode(bytes_of({0x04}), r, err)) << err;
  EXPECT_EQ(r[0].i, 2);
  EXPECT_EQ(r[1].str(), "C");
  EXPECT_EQ(r[2].i, 7);
  EXPECT_TRUE(r[3].is_null());
}

TEST(AvroBinary, EncodedRowsDecodeWithTheirOwnSchema) {
  std::vector<stream::field_type> cols{{"id", data_type::of(type_id::int64)},
                                       {"name", data_type::of(type_id::varchar)},
                                       {"at", data_type::of(type_id::timestamp)},
                                       {"score", data_type::of(type_id::float64)},
                                       {"gone", data_type::of(type_id::int32)}};
  auto s = parse(avro_schema_for(cols, "sluice.out"));
  stream::row in{value::integer(-5), value::string("héllo"), value::timestamp(1'700'000'000'123),
                 value::real(2.5), value::null()};
  std::string enc;
  avro_encode_row(enc, cols, in);
  auto r = decode(*s, enc);
  EXPECT_EQ(r[0].i, -5);
  EXPECT_EQ(r[1].str(), "héllo");
  EXPECT_EQ(r[2].k, value::kind::timestamp);
  EXPECT_EQ(r[2].i, 1'700'000'000'123);
  EXPECT_DOUBLE_EQ(r[3].d, 2.5);
  EXPECT_TRUE(r[4].is_null());
}

// --- schemas ---

TEST(AvroSchema, ParsingCanonicalFormAsTheSpecificationDefines) {
  // Full names, only the attributes that matter, fixed order, primitives as strings.
  auto s = parse(R"({"namespace":"ns","type":"record","name":"R","doc":"x","fields":[
      {"name":"a","type":{"type":"int"},"default":1,"doc":"y"},
      {"name":"e","type":{"type":"enum","name":"E","symbols":["X"],"aliases":["F"]}},
      {"name":"again","type":"E"},
      {"name":"f","type":{"type":"fixed","name":"other.F","size":16}}]})");
  EXPECT_EQ(s->canonical(), R"({"name":"ns.R","type":"record","fields":[{"name":"a","type":"int"},)"
                            R"({"name":"e","type":{"name":"ns.E","type":"enum","symbols":["X"]}},)"
                            R"({"name":"again","type":"ns.E"},)"
                            R"({"name":"f","type":{"name":"other.F","type":"fixed","size":16}}]})");
  EXPECT_EQ(parse(R"( "long" )")->canonical(), R"("long")");
}

TEST(AvroSchema, InvalidSchemasAreRefusedWithTheReason) {
  EXPECT_EQ(parse_error(R"({"type":"record","name":"R","fields":[{"name":"a","type":"integer"}]})"),
            "field 'a' of record 'R': unknown type 'integer'");
  EXPECT_EQ(parse_error(R"(["int","int"])"), "a union may not hold two branches of type 'int'");
  EXPECT_EQ(parse_error(R"({"type":"enum","name":"E","symbols":["A","A"]})"),
            "enum 'E': symbol 'A' appears twice");
  EXPECT_EQ(
      parse_error(
          R"({"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]})"),
      "field 'a' of record 'R': default '\"x\"' is not a int");
  EXPECT_EQ(parse_error(R"({"type":"record","name":"1R","fields":[]})"),
            "record name '1R' is not a valid Avro name");
  EXPECT_NE(parse_error("{"), "");
}

TEST(AvroSchema, RecursiveTypesParseAndResolve) {
  auto s = parse(R"({"type":"record","name":"Node","fields":[{"name":"v","type":"int"},
      {"name":"next","type":["null","Node"],"default":null}]})");
  EXPECT_TRUE(avro::check_resolution(s->root(), s->root()).empty());
}

// --- compatibility by schema resolution ---

std::vector<std::string> kinds(std::string_view reader, std::string_view writer) {
  std::vector<std::string> out;
  for (const auto& i : avro::check_resolution(parse(reader)->root(), parse(writer)->root()))
    out.push_back(i.kind);
  return out;
}

TEST(AvroCompatibility, PromotionsFollowTheSpecification) {
  EXPECT_TRUE(kinds(R"("long")", R"("int")").empty());
  EXPECT_TRUE(kinds(R"("double")", R"("float")").empty());
  EXPECT_TRUE(kinds(R"("bytes")", R"("string")").empty());
  EXPECT_EQ(kinds(R"("int")", R"("long")"), std::vector<std::string>{"TYPE_MISMATCH"});
}

TEST(AvroCompatibility, ANewFieldNeedsADefault) {
  const char* v1 = R"({"type":"record","name":"R","fields":[{"name":"a","type":"int"}]})";
  const char* with_default =
      R"({"type":"record","name":"R","fields":[{"name":"a","type":"int"},
          {"name":"b","type":"string","default":""}]})";
  const char* without =
      R"({"type":"record","name":"R","fields":[{"name":"a","type":"int"},
          {"name":"b","type":"string"}]})";
  EXPECT_TRUE(kinds(with_default, v1).empty());  // backward
  EXPECT_TRUE(kinds(v1, without).empty());       // forward: the old reader skips b
  EXPECT_EQ(kinds(without, v1), std::vector<std::string>{"READER_FIELD_MISSING_DEFAULT_VALUE"});
}

TEST(AvroCompatibility, EnumsNamesAndUnions) {
  EXPECT_EQ(kinds(R"({"type":"enum","name":"E","symbols":["A"]})",
                  R"({"type":"enum","name":"E","symbols":["A","B"]})"),
            std::vector<std::string>{"MISSING_ENUM_SYMBOLS"});
  EXPECT_TRUE(kinds(R"({"type":"enum","name":"E","symbols":["A","Z"],"default":"Z"})",
                    R"({"type":"enum","name":"E","symbols":["A","B"]})")
                  .empty());
  EXPECT_EQ(kinds(R"({"type":"record","name":"X","fields":[]})",
                  R"({"type":"record","name":"Y","fields":[]})"),
            std::vector<std::string>{"NAME_MISMATCH"});
  EXPECT_TRUE(kinds(R"({"type":"record","name":"X","aliases":["Y"],"fields":[]})",
                    R"({"type":"record","name":"Y","fields":[]})")
                  .empty());
  EXPECT_TRUE(kinds(R"(["null","long"])", R"("int")").empty());
  EXPECT_EQ(kinds(R"("long")", R"(["null","long"])"), std::vector<std::string>{"TYPE_MISMATCH"});
  EXPECT_EQ(kinds(R"(["null","string"])", R"(["null","long"])"),
            std::vector<std::string>{"MISSING_UNION_BRANCH"});
}

// --- the registry ---

template <class T>
T wait(const std::function<void(std::function<void(outcome<T>)>)>& start, registry_error* error) {
  std::promise<outcome<T>> p;
  start([&](outcome<T> r) { p.set_value(std::move(r)); });
  auto r = p.get_future().get();
  if (auto* e = std::get_if<registry_error>(&r)) {
    if (error) *error = *e;
    return T{};
  }
  return std::get<T>(r);
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-schema-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    open();
  }
  void TearDown() override {
    reg_.reset();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  void open() {
    reg_.reset();
    log_.reset();
    log::log_options o;
    o.data_dir = dir_;
    auto l = log::log::open(o);
    ASSERT_TRUE(l.ok());
    log_ = std::move(*l);
    auto r = registry::open(*log_);
    ASSERT_TRUE(r.ok());
    reg_ = std::move(*r);
  }
  int32_t add(const std::string& subject, const std::string& text, registry_error* e = nullptr) {
    schema_input in;
    in.text = text;
    return wait<int32_t>(
        [&](auto done) { reg_->register_schema(subject, in, std::nullopt, std::move(done)); }, e);
  }

  std::string dir_;
  std::unique_ptr<log::log> log_;
  std::shared_ptr<registry> reg_;
};

constexpr const char* k_v1 = R"({"type":"record","name":"R","fields":[{"name":"a","type":"int"}]})";
constexpr const char* k_v2 = R"({"type":"record","name":"R","fields":[{"name":"a","type":"int"},)"
                             R"({"name":"b","type":"long","default":0}]})";

TEST_F(RegistryTest, TheSameSchemaGetsTheSameIdUnderAnySubject) {
  EXPECT_EQ(add("a-value", k_v1), 1);
  EXPECT_EQ(add("a-value", " " + std::string(k_v1) + "\n"), 1);  // whitespace does not count
  EXPECT_EQ(add("b-value", k_v1), 1);
  EXPECT_EQ(add("a-value", k_v2), 2);
  auto v = reg_->versions("a-value", false);
  EXPECT_EQ(std::get<0>(v), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(std::get<0>(reg_->versions("b-value", false)), std::vector<int32_t>{1});
}

TEST_F(RegistryTest, IncompatibleVersionsAreRefusedWithTheReason) {
  EXPECT_EQ(add("s", k_v2), 1);
  // BACKWARD: the new schema reads what the latest wrote (b is skipped): accepted.
  EXPECT_EQ(add("s", k_v1), 2);
  registry_error bad;
  add("s", R"({"type":"record","name":"R","fields":[{"name":"a","type":"string"}]})", &bad);
  EXPECT_EQ(bad.status, 409);
  EXPECT_NE(bad.message.find("TYPE_MISMATCH"), std::string::npos) << bad.message;
}

TEST_F(RegistryTest, StateSurvivesAReopenWithTheSameIds) {
  EXPECT_EQ(add("a-value", k_v1), 1);
  EXPECT_EQ(add("a-value", k_v2), 2);
  EXPECT_EQ(add("tmp", R"("string")"), 3);
  wait<compatibility>(
      [&](auto done) { reg_->set_compatibility("a-value", compatibility::full, std::move(done)); },
      nullptr);
  wait<std::vector<int32_t>>(
      [&](auto done) { reg_->delete_subject("tmp", false, std::move(done)); }, nullptr);
  open();
  EXPECT_EQ(reg_->subjects(false), std::vector<std::string>{"a-value"});
  EXPECT_EQ(reg_->subjects(true), (std::vector<std::string>{"a-value", "tmp"}));
  EXPECT_EQ(reg_->subject_compatibility("a-value"), compatibility::full);
  auto latest = reg_->latest("a-value");
  EXPECT_EQ(latest.second, 2);
  ASSERT_TRUE(latest.first);
  EXPECT_EQ(add("c", R"("bytes")"), 4);
  // A permanent delete forgets the version; a schema no one uses any more is gone.
  wait<std::vector<int32_t>>([&](auto done) { reg_->delete_subject("tmp", true, std::move(done)); },
                             nullptr);
  open();
  EXPECT_TRUE(std::holds_alternative<registry_error>(reg_->by_id(3)));
  EXPECT_FALSE(std::holds_alternative<registry_error>(reg_->by_id(2)));
}

TEST(WireFormat, HeaderIsMagicZeroAndABigEndianId) {
  std::string out;
  append_wire_header(out, 0x01020304);
  EXPECT_EQ(out, bytes_of({0, 1, 2, 3, 4}));
  std::string err;
  EXPECT_EQ(framed_schema_id(out, err), 0x01020304);
  EXPECT_FALSE(framed_schema_id("{\"a\":1}", err));
  EXPECT_EQ(err, "not a schema registry record (no magic byte 0 and schema id)");
}

// --- Protobuf ---

namespace {
std::shared_ptr<const protobuf::schema> proto(std::string_view text,
                                              const std::vector<referenced_text>& refs = {}) {
  std::string err;
  auto s = protobuf::schema::parse(text, refs, err);
  EXPECT_TRUE(s) << err;
  return s;
}
std::vector<std::string> proto_kinds(std::string_view reader, std::string_view writer) {
  std::vector<std::string> out;
  for (const auto& i : protobuf::check_compatibility(*proto(reader), *proto(writer)))
    out.push_back(i.kind);
  return out;
}
}  // namespace

TEST(Protobuf, ParsesImportsFromReferencesAndWellKnownTypes) {
  auto s = proto(R"(syntax = "proto3"; package shop;
      import "common.proto"; import "google/protobuf/timestamp.proto";
      message Order { common.Money total = 1; google.protobuf.Timestamp at = 2; })",
                 {{"common.proto", R"(syntax = "proto3"; package common;
                     message Money { int64 units = 1; string currency = 2; })"}});
  ASSERT_TRUE(s);
  auto cols = columns_of(*s->message({}));
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0].type->to_string(), "ROW<units BIGINT, currency VARCHAR>");
  EXPECT_EQ(cols[1].type->id, type_id::timestamp);
  std::string err;
  EXPECT_FALSE(protobuf::schema::parse("message {", {}, err));
  EXPECT_NE(err.find("line 1"), std::string::npos) << err;
  EXPECT_FALSE(protobuf::schema::parse(R"(syntax = "proto3"; message A { Nope b = 1; })", {}, err));
  EXPECT_NE(err.find("Nope"), std::string::npos) << err;
}

TEST(Protobuf, DecodesTheWireFormatByFieldNumber) {
  auto s = proto(R"(syntax = "proto3";
      message M { enum E { A = 0; B = 1; } int32 i = 1; sint64 z = 2; string s = 3;
                  repeated int32 packed = 4; E e = 5; map<string, double> m = 6;
                  fixed32 f = 7; optional int64 maybe = 8; bool unset = 9; })");
  auto cols = columns_of(*s->message({}));
  protobuf_row_decoder d(*s->message({}), cols, {});
  // i=150 (08 96 01), z=-2 (10 03), s="hi" (1a 02 68 69), packed [1,2] (22 02 01 02), e=B (28
  // 01), m {"k": 0.5} (32 0c 0a 01 6b 11 00..e0 3f), f=7 (3d 07 00 00 00), an unknown
  // field 15 varint (78 01); maybe and unset absent.
  std::string data =
      bytes_of({0x08, 0x96, 0x01, 0x10, 0x03, 0x1a, 0x02, 0x68, 0x69, 0x22, 0x02, 0x01,
                0x02, 0x28, 0x01, 0x32, 0x0c, 0x0a, 0x01, 0x6b, 0x11, 0,    0,    0,
                0,    0,    0,    0xe0, 0x3f, 0x3d, 0x07, 0,    0,    0,    0x78, 0x01});
  stream::row r;
  std::string err;
  ASSERT_TRUE(d.decode(data, r, err)) << err;
  EXPECT_EQ(r[0].i, 150);
  EXPECT_EQ(r[1].i, -2);
  EXPECT_EQ(r[2].str(), "hi");
  ASSERT_EQ(r[3].k, value::kind::nested);
  EXPECT_EQ(r[3].nest()->items.size(), 2u);
  EXPECT_EQ(r[4].str(), "B");
  ASSERT_EQ(r[5].k, value::kind::nested);
  EXPECT_EQ(r[5].nest()->names[0], "k");
  EXPECT_DOUBLE_EQ(r[5].nest()->items[0].d, 0.5);
  EXPECT_EQ(r[6].i, 7);
  EXPECT_TRUE(r[7].is_null());  // proto3 optional, absent
  EXPECT_FALSE(r[8].b);         // proto3 scalar, absent: its default
  EXPECT_FALSE(d.decode(bytes_of({0x08}), r, err));
  EXPECT_EQ(err, "truncated");
  EXPECT_FALSE(d.decode(bytes_of({0x0d, 0, 0, 0, 0}), r, err));  // i with wire type 5
  EXPECT_EQ(err, "field i: wire type 5, expected 0");
}

TEST(Protobuf, MessageIndexesAsConfluentWritesThem) {
  auto s = proto(R"(syntax = "proto3"; message A { message Inner { int32 x = 1; } }
                    message B { int32 y = 1; })");
  std::string out;
  append_message_indexes(out, {0});
  EXPECT_EQ(out, bytes_of({0x00}));  // the first message: one 0 byte
  out.clear();
  append_message_indexes(out, {1});
  EXPECT_EQ(out, bytes_of({0x02, 0x02}));
  out.clear();
  append_message_indexes(out, {0, 0});
  std::string_view rest = out;
  std::string err;
  auto idx = read_message_indexes(rest, err);
  ASSERT_TRUE(idx);
  EXPECT_EQ(s->message(*idx)->full_name(), "A.Inner");
  EXPECT_EQ(s->message({1})->full_name(), "B");
  EXPECT_EQ(s->message({2}), nullptr);
}

TEST(Protobuf, CompatibilityByFieldNumber) {
  const char* v1 = R"(syntax = "proto3"; package p; message M { int32 a = 1; string b = 2; })";
  EXPECT_TRUE(proto_kinds(R"(syntax = "proto3"; package p; message M { int64 a = 1; })", v1)
                  .empty());  // b removed, int32 -> int64 is wire-compatible
  EXPECT_EQ(
      proto_kinds(R"(syntax = "proto3"; package p; message M { int32 a = 1; int32 b = 2; })", v1),
      std::vector<std::string>{"FIELD_SCALAR_KIND_CHANGED"});
  EXPECT_EQ(proto_kinds(R"(syntax = "proto3"; package p;
                           message M { int32 a = 1; repeated string b = 2; })",
                        v1),
            std::vector<std::string>{"FIELD_KIND_CHANGED"});
  EXPECT_EQ(proto_kinds(R"(syntax = "proto3"; package q; message M { int32 a = 1; })", v1),
            (std::vector<std::string>{"PACKAGE_CHANGED", "MESSAGE_REMOVED"}));
}

// --- JSON Schema ---

namespace {
std::shared_ptr<const json::schema> js(std::string_view text,
                                       const std::vector<referenced_text>& refs = {}) {
  std::string err;
  auto s = json::schema::parse(text, refs, err);
  EXPECT_TRUE(s) << err;
  return s;
}
std::string invalid(const json::schema& s, std::string_view doc) {
  simdjson::dom::parser p;
  simdjson::dom::element e;
  EXPECT_FALSE(p.parse(doc.data(), doc.size()).get(e)) << doc;
  std::string err;
  return s.validate(e, err) ? "" : err;
}
std::vector<std::string> js_kinds(std::string_view reader, std::string_view writer) {
  std::vector<std::string> out;
  for (const auto& i : json::check_compatibility(*js(reader), *js(writer)))
    out.push_back(i.kind);
  return out;
}
}  // namespace

TEST(JsonSchema, ValidatesByKeyword) {
  auto s = js(R"({"type":"object","properties":{
      "id":{"type":"integer","minimum":1},"name":{"type":"string","maxLength":3,"pattern":"^[a-z]+$"},
      "tags":{"type":"array","items":{"enum":["a","b"]},"uniqueItems":true},
      "kind":{"oneOf":[{"const":"x"},{"const":"y"}]},"addr":{"$ref":"#/definitions/addr"}},
      "required":["id"],"additionalProperties":false,
      "definitions":{"addr":{"type":"object","required":["city"]}}})");
  EXPECT_EQ(invalid(*s, R"({"id":1,"name":"ab","tags":["a","b"],"kind":"x","addr":{"city":"c"}})"),
            "");
  EXPECT_EQ(invalid(*s, R"({"id":2.0})"), "");  // an integral number is an integer
  EXPECT_EQ(invalid(*s, R"({"name":"ab"})"), "#: the required property 'id' is missing");
  EXPECT_EQ(invalid(*s, R"({"id":0})"), "/id: less than the minimum");
  EXPECT_EQ(invalid(*s, R"({"id":1.5})"), "/id: expected integer, got number");
  EXPECT_EQ(invalid(*s, R"({"id":1,"name":"abcd"})"), "/name: longer than maxLength");
  EXPECT_EQ(invalid(*s, R"({"id":1,"name":"A"})"), "/name: does not match the pattern ^[a-z]+$");
  EXPECT_EQ(invalid(*s, R"({"id":1,"tags":["a","a"]})"), "/tags: items are not unique");
  EXPECT_EQ(invalid(*s, R"({"id":1,"tags":["c"]})"),
            "/tags/0: \"c\" is not one of the enum's values");
  EXPECT_EQ(invalid(*s, R"({"id":1,"kind":"z"})"), "/kind: matches 0 of oneOf, not exactly one");
  EXPECT_EQ(invalid(*s, R"({"id":1,"addr":{}})"), "/addr: the required property 'city' is missing");
  EXPECT_EQ(invalid(*s, R"({"id":1,"other":1})"), "#: the property 'other' is not allowed");
}

TEST(JsonSchema, RefsToReferencedSchemasAndErrors) {
  auto s = js(R"({"type":"object","properties":{"a":{"$ref":"address.json"}}})",
              {{"address.json", R"({"type":"object","required":["zip"]})"}});
  EXPECT_EQ(invalid(*s, R"({"a":{}})"), "/a: the required property 'zip' is missing");
  std::string err;
  EXPECT_FALSE(json::schema::parse(R"({"$ref":"#/definitions/nope"})", {}, err));
  EXPECT_EQ(err, "$ref '#/definitions/nope' does not name a definition");
  EXPECT_FALSE(json::schema::parse(R"({"type":"text"})", {}, err));
  EXPECT_EQ(err, "/type: unknown type 'text'");
}

TEST(JsonSchema, CompatibilityAsConfluentJudgesIt) {
  const char* closed =
      R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false})";
  const char* open = R"({"type":"object","properties":{"a":{"type":"integer"}}})";
  // A property added to a closed model: old data never has it.
  EXPECT_TRUE(
      js_kinds(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},
                           "additionalProperties":false})",
               closed)
          .empty());
  // ... to an open one: old data may have had anything by that name.
  EXPECT_EQ(
      js_kinds(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}}})",
               open),
      std::vector<std::string>{"PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"});
  EXPECT_EQ(
      js_kinds(R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]})", open),
      std::vector<std::string>{"REQUIRED_ATTRIBUTE_ADDED"});
  EXPECT_TRUE(js_kinds(R"({"type":"object","properties":{"a":{"type":"number"}}})", open).empty());
  EXPECT_EQ(js_kinds(R"({"type":"object","properties":{"a":{"type":"string"}}})", open),
            std::vector<std::string>{"TYPE_NARROWED"});
  EXPECT_EQ(
      js_kinds(R"({"type":"object","properties":{"a":{"type":"integer","maximum":5}}})", open),
      std::vector<std::string>{"MAXIMUM_DECREASED"});
}

// "name:TYPE " per column.
std::string column_text(const std::vector<stream::field_type>& cols) {
  std::string text;
  for (const auto& c : cols)
    text += c.name + ":" + c.type->to_string() + " ";
  return text;
}

TEST(JsonSchema, ColumnsOfAnObjectSchema) {
  auto s = js(
      R"({"type":"object","properties":{"id":{"type":"integer"},"at":{"type":"string","format":"date-time"},
      "price":{"type":["number","null"]},"tags":{"type":"array","items":{"type":"string"}},
      "attrs":{"type":"object","additionalProperties":{"type":"integer"}}}})");
  std::string err;
  auto cols = json::columns_of(*s, err);
  ASSERT_TRUE(cols) << err;
  EXPECT_EQ(column_text(*cols),
            "id:BIGINT at:TIMESTAMP price:DOUBLE tags:ARRAY<VARCHAR> attrs:MAP<VARCHAR, BIGINT> ");
}

// A schema that contains itself is JSON text where it recurs: its columns stay finite (two
// $refs to the root per level grew as 2^depth before, found by the schema fuzzer).
TEST(JsonSchema, ColumnsOfARecursiveSchema) {
  auto s = js(R"({"type":"object","properties":{"n":{"type":"integer"},
      "left":{"$ref":"#"},"right":{"$ref":"#"}}})");
  std::string err;
  auto cols = json::columns_of(*s, err);
  ASSERT_TRUE(cols) << err;
  EXPECT_EQ(column_text(*cols), "n:BIGINT left:VARCHAR right:VARCHAR ");
}

}  // namespace
}  // namespace sluice::schema
