// CREATE STREAM / CREATE TABLE: the declared source and its properties.

#include <algorithm>
#include <charconv>

#include "base/strings.h"
#include "sql/error.h"
#include "sql/parser.h"
#include "sql/planner.h"
#include "stream/debezium_decoder.h"

namespace sluice::sql {

using stream::type_id;

int64_t interval_times(int64_t a, int64_t b, location loc) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) throw sql_error(loc, "interval too large");
  return out;
}

int64_t parse_duration(const std::string& v, location loc, const char* what) {
  // "5000" (ms), "5 s", "5 seconds", "2 minutes", "100 ms"
  int64_t n = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (r.ec != std::errc() || n < 0)
    throw sql_error(loc, std::string("bad ") + what + ": '" + v + "'");
  std::string unit(r.ptr, v.data() + v.size());
  unit.erase(0, unit.find_first_not_of(' '));
  auto u = ascii_upper(unit);
  if (!u.empty() && u.back() == 'S' && u != "MS" && u != "S") u.pop_back();
  if (u.empty() || u == "MS" || u == "MILLISECOND") return n;
  if (u == "S" || u == "SECOND") return interval_times(n, 1000, loc);
  if (u == "MIN" || u == "MINUTE") return interval_times(n, 60'000, loc);
  if (u == "H" || u == "HOUR") return interval_times(n, 3'600'000, loc);
  throw sql_error(loc, std::string("bad ") + what + " unit '" + unit + "'");
}

source_def make_source_def(const create_source_stmt& s, location loc,
                           const format_provider* formats) {
  source_def d;
  d.name = s.name;
  d.is_table = s.is_table;
  d.primary_key = s.primary_key;
  for (const auto& c : s.columns) {
    for (const auto& x : d.columns)
      if (iequals(x.name, c.name)) throw sql_error(c.loc, "duplicate column '" + c.name + "'");
    d.columns.push_back({c.name, c.type});
  }
  for (const auto& [k, v] : s.with) {
    if (k == "topic" || k == "kafka_topic") {
      d.topic = v;
    } else if (k == "format" || k == "value_format" || k == "value.format") {
      d.format = ascii_upper(v);
      if (d.format == "JSON_SCHEMA") d.format = "JSON_SR";
      if (d.format != "JSON" && d.format != "AVRO" && d.format != "PROTOBUF" &&
          d.format != "JSON_SR" && d.format != "DEBEZIUM")
        throw sql_error(loc, "format '" + v +
                                 "' is not supported (json, avro, protobuf, json_sr and debezium "
                                 "are)");
    } else if (k == "subject" || k == "value.subject") {
      d.subject = v;
    } else if (k == "key_format" || k == "key.format") {
      d.key_format = ascii_upper(v);
      if (d.key_format == "JSON_SCHEMA") d.key_format = "JSON_SR";
      if (d.key_format != "JSON" && d.key_format != "AVRO" && d.key_format != "PROTOBUF" &&
          d.key_format != "JSON_SR")
        throw sql_error(
            loc, "key_format '" + v + "' is not supported (json, avro, protobuf and json_sr are)");
    } else if (k == "timestamp") {
      d.timestamp_column = v;
    } else if (k == "watermark") {
      // 'col - INTERVAL ''5'' SECOND' or 'col'
      auto stmts = parse("SELECT " + v + " FROM x");
      const auto& e = *std::get<query_stmt>(stmts[0].body).query->items[0].e;
      if (e.k == expr::kind::column) {
        d.timestamp_column = d.timestamp_column.empty() ? e.name : d.timestamp_column;
      } else if (e.k == expr::kind::binary && e.op == "-" && e.args[0]->k == expr::kind::column &&
                 e.args[1]->k == expr::kind::interval) {
        if (d.timestamp_column.empty()) d.timestamp_column = e.args[0]->name;
        if (d.timestamp_column != e.args[0]->name)
          throw sql_error(loc, "the watermark must be on the timestamp column");
        d.watermark_delay_ms = e.args[1]->interval_ms;
      } else {
        throw sql_error(loc, "watermark must be 'column' or 'column - INTERVAL ''n'' unit'");
      }
    } else if (k == "key") {
      d.partition_key = split_list(v);
    } else if (k == "idle_timeout" || k == "idle.timeout") {
      d.idle_timeout_ms = parse_duration(v, loc, "idle_timeout");
    } else {
      throw sql_error(loc, "unknown property '" + k +
                               "' (known: topic, format, subject, key, key_format, timestamp, "
                               "watermark, idle_timeout)");
    }
  }
  if (d.topic.empty()) d.topic = s.name;
  bool registered = d.format == "AVRO" || d.format == "PROTOBUF" || d.format == "JSON_SR";
  if (!registered && !d.subject.empty())
    throw sql_error(loc,
                    "'subject' is for formats with a schema registry (avro, protobuf, json_sr)");
  if (registered) {
    if (!formats) throw sql_error(loc, "format '" + d.format + "' needs the schema registry");
    if (d.subject.empty()) d.subject = d.topic + "-value";
    if (d.columns.empty()) {
      d.schema_id = formats->pinned_schema(d.name);
      d.columns = formats->columns_of(d.format, d.subject, d.schema_id, loc);
    }
    d.make_decoder = formats->decoder(d.format, d.schema_id);
  } else if (d.format == "DEBEZIUM") {
    // Debezium's JSON change envelope: rows are `after`, deletes remove (by the key).
    d.make_decoder =
        [](const std::vector<stream::field_type>& cols,
           const std::vector<bool>& needed) -> std::unique_ptr<stream::record_decoder> {
      return std::make_unique<stream::debezium_decoder>(cols, needed);
    };
  }
  if (d.key_format != "JSON") {
    if (!s.is_table)
      throw sql_error(loc, "key_format is for tables (a stream's keys are not read)");
    if (!formats)
      throw sql_error(loc, "key_format '" + d.key_format + "' needs the schema registry");
    d.make_key_decoder = formats->decoder(d.key_format, 0);
  }
  if (d.columns.empty())
    throw sql_error(loc,
                    "declare the columns: (name TYPE, ...), or use a format whose schema "
                    "is in the registry (format = 'avro')");
  for (const auto& k : d.primary_key) {
    bool found = false;
    for (const auto& c : d.columns)
      found |= c.name == k;
    if (!found) throw sql_error(loc, "PRIMARY KEY column '" + k + "' is not declared");
  }
  if (s.is_table && !d.partition_key.empty() && d.partition_key != d.primary_key)
    throw sql_error(loc, "a table's records are keyed by its PRIMARY KEY: drop WITH (key = ...)");
  if (s.is_table) d.partition_key = d.primary_key;
  for (const auto& k : d.partition_key)
    if (std::none_of(d.columns.begin(), d.columns.end(),
                     [&](const auto& c) { return c.name == k; }))
      throw sql_error(loc, "key column '" + k + "' is not declared");
  if (s.is_table && s.primary_key.empty())
    throw sql_error(loc, "a TABLE needs a PRIMARY KEY (its rows are upserted by key)");
  if (!s.is_table && !s.primary_key.empty())
    throw sql_error(loc, "a STREAM has no PRIMARY KEY (use CREATE TABLE for upserts)");
  if (!d.timestamp_column.empty()) {
    bool ok = false;
    for (const auto& c : d.columns)
      if (c.name == d.timestamp_column) {
        if (c.type->id != type_id::timestamp)
          throw sql_error(loc, "timestamp column '" + c.name + "' must be TIMESTAMP, not " +
                                   c.type->to_string());
        ok = true;
      }
    if (!ok) throw sql_error(loc, "timestamp column '" + d.timestamp_column + "' is not declared");
  }
  return d;
}

}  // namespace sluice::sql
