#include "http/rest_proxy.h"
#include "base/json_writer.h"

#include <simdjson.h>

#include <chrono>
#include <map>

#include "base/await_callback.h"
#include "base/clock.h"
#include "http/durable_append.h"
#include "http/error_body.h"
#include "log/log.h"
#include "log/records.h"
#include "schema/registry.h"
#include "schema/wire_format.h"
#include "stream/value.h"

namespace sluice::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;

int32_t kafka_partition_for_key(std::string_view key, int32_t partitions) {
  // murmur2 as Kafka's Utils.murmur2 computes it (seed 0x9747b28c), made positive.
  const auto* data = reinterpret_cast<const uint8_t*>(key.data());
  const auto length = static_cast<int32_t>(key.size());
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  uint32_t h = 0x9747b28cu ^ static_cast<uint32_t>(length);
  int32_t n4 = length / 4;
  for (int32_t i = 0; i < n4; ++i) {
    int32_t i4 = i * 4;
    uint32_t k = static_cast<uint32_t>(data[i4]) | (static_cast<uint32_t>(data[i4 + 1]) << 8) |
                 (static_cast<uint32_t>(data[i4 + 2]) << 16) |
                 (static_cast<uint32_t>(data[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  int32_t tail = length & ~3;
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(data[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(data[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(data[tail]);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>((h & 0x7fffffffu) % static_cast<uint32_t>(partitions));
}

namespace {

// The schema a produce request names for its keys or values: registered from its text under
// `subject`, or by id; of the request's format. An answer with the REST Proxy's error when it
// cannot be had.
struct schema_side {
  int32_t id = 0;
  std::shared_ptr<const schema::parsed_schema> parsed;
};

awaitable<std::variant<schema_side, reply>> schema_of(schema::registry& registry,
                                                      schema::schema_type type,
                                                      simdjson::dom::element body,
                                                      const char* text_field, const char* id_field,
                                                      std::string subject, int code) {
  schema_side side;
  std::string_view text;
  int64_t id = 0;
  std::string format(schema::name_of(type));
  if (!body[text_field].get(text)) {
    schema::schema_input in;
    in.type = type;
    in.text = std::string(text);
    auto r = co_await await_callback<schema::outcome<int32_t>>(
        [&](auto done) { registry.register_schema(subject, in, std::nullopt, std::move(done)); });
    if (auto* e = std::get_if<schema::registry_error>(&r))
      co_return reply{422, error_body(code, std::string(text_field) + ": " + e->message)};
    side.id = std::get<int32_t>(r);
  } else if (!body[id_field].get(id)) {
    side.id = static_cast<int32_t>(id);
  } else {
    co_return reply{422, error_body(code, "the " + format + " format needs \"" + text_field +
                                              "\" or \"" + id_field + "\"")};
  }
  side.parsed = registry.parsed(side.id);
  if (!side.parsed || side.parsed->type() != type)
    co_return reply{422, error_body(code, "schema " + std::to_string(side.id) + " is not a " +
                                              format + " schema in the registry")};
  co_return side;
}

// The format a produce request's content type names: JSON (nullopt) or one with schemas.
std::optional<schema::schema_type> format_of(std::string_view content_type) {
  if (content_type.find("vnd.kafka.avro.v2") != std::string_view::npos)
    return schema::schema_type::avro;
  if (content_type.find("vnd.kafka.protobuf.v2") != std::string_view::npos)
    return schema::schema_type::protobuf;
  if (content_type.find("vnd.kafka.jsonschema.v2") != std::string_view::npos)
    return schema::schema_type::json;
  return std::nullopt;
}

}  // namespace

void rest_proxy::add_routes(router& r) {
  using verb = bhttp::verb;
  using op = security::acl_operation;
  r.add(verb::get, "/topics", needs::cluster(op::describe), this, &rest_proxy::list, k_v2_json);
  r.add(verb::get, "/topics/{topic}", needs::topic(op::describe), this, &rest_proxy::describe,
        k_v2_json);
  r.add(verb::post, "/topics/{topic}", needs::topic(op::write), this, &rest_proxy::produce,
        k_v2_json);
}

awaitable<reply> rest_proxy::list(const call&) {
  json_writer w;
  w.begin_array();
  for (const auto& t : log_.topics())
    w.value(t->name());
  w.end_array();
  co_return reply{200, std::move(w).str()};
}

awaitable<reply> rest_proxy::describe(const call& c) {
  auto topic = log_.find_topic(c.params[0]);
  if (!topic) co_return reply{404, error_body(40401, "Topic not found")};
  json_writer w;
  w.begin_object().key("name").value(topic->name()).key("configs").begin_object();
  for (const auto& [k, v] : topic->overrides())
    w.key(k).value(v);
  w.end_object().key("partitions").begin_array();
  for (int32_t p = 0; p < topic->partition_count(); ++p) {
    // One broker: it leads every partition, its only in-sync replica.
    w.begin_object().key("partition").value(p).key("leader").value(int32_t{1});
    w.key("replicas").begin_array().begin_object();
    w.key("broker").value(int32_t{1}).key("leader").value(true).key("in_sync").value(true);
    w.end_object().end_array().end_object();
  }
  w.end_array().end_object();
  co_return reply{200, std::move(w).str()};
}

awaitable<reply> rest_proxy::produce(const call& c) {
  const auto& req = c.req;
  const std::string& name = c.params[0];
  auto topic = log_.find_topic(name);
  if (!topic) co_return reply{404, error_body(40401, "Topic not found")};
  // Produce. Keys and values are JSON, each stored as its JSON text; or, in a format with
  // schemas, converted from JSON and stored Confluent-framed behind the schema id.
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array records;
  if (parser.parse(req.body()).get(doc) || doc["records"].get_array().get(records))
    co_return reply{422, error_body(42201, "expected {\"records\":[{\"value\":...},...]}")};
  auto format = format_of(req[bhttp::field::content_type]);
  std::optional<schema_side> key_schema, value_schema;
  if (format) {
    if (!schemas_) co_return reply{415, error_body(41501, "this format needs the schema registry")};
    bool keys = false, values = false;
    for (simdjson::dom::element rec : records) {
      simdjson::dom::element x;
      keys |= !rec["key"].get(x) && !x.is_null();
      values |= !rec["value"].get(x) && !x.is_null();
    }
    if (keys) {
      auto k = co_await schema_of(*schemas_, *format, doc, "key_schema", "key_schema_id",
                                  name + "-key", 42203);
      if (auto* a = std::get_if<reply>(&k)) co_return *a;
      key_schema = std::get<schema_side>(k);
    }
    if (values) {
      auto v = co_await schema_of(*schemas_, *format, doc, "value_schema", "value_schema_id",
                                  name + "-value", 42204);
      if (auto* a = std::get_if<reply>(&v)) co_return *a;
      value_schema = std::get<schema_side>(v);
    }
  }
  std::string framing_err;
  auto encode = [&](const schema_side& side,
                    simdjson::dom::element x) -> std::optional<std::string> {
    return schema::framed_from_json(*side.parsed, side.id, x, framing_err);
  };
  int32_t partitions = topic->partition_count();
  struct placed {
    int32_t partition;
    int64_t index_in_batch;
  };
  std::vector<placed> where;
  std::map<int32_t, log::batch_builder> batches;
  std::map<int32_t, int64_t> counts;
  int64_t ts = now_ms();
  size_t n = 0;
  for (simdjson::dom::element rec : records) {
    ++n;
    simdjson::dom::element key, value, part;
    std::optional<std::string> k, v;
    if (!rec["key"].get(key) && !key.is_null())
      k = format ? encode(*key_schema, key) : simdjson::minify(key);
    if (!rec["value"].get(value) && !value.is_null())
      v = format ? encode(*value_schema, value) : simdjson::minify(value);
    if (format && !framing_err.empty())
      co_return reply{422, error_body(42205, "record " + std::to_string(n) + ": " + framing_err)};
    int32_t p;
    if (!rec["partition"].get(part)) {
      int64_t pi;
      if (part.get_int64().get(pi) || pi < 0 || pi >= partitions)
        co_return reply{
            422, error_body(42202, "record " + std::to_string(n) + ": partition must be 0.." +
                                       std::to_string(partitions - 1))};
      p = static_cast<int32_t>(pi);
    } else if (k) {
      p = kafka_partition_for_key(*k, partitions);
    } else {
      p = static_cast<int32_t>(next_++ % static_cast<uint64_t>(partitions));
    }
    auto view = [](const std::optional<std::string>& s) -> std::optional<bytes_view> {
      if (!s) return std::nullopt;
      return bytes_view(reinterpret_cast<const uint8_t*>(s->data()), s->size());
    };
    batches[p].add(view(k), view(v), ts);
    where.push_back({p, counts[p]++});
  }
  if (n == 0) co_return reply{422, error_body(42201, "no records")};

  auto done = co_await append_durably(*topic, batches, ts);
  if (done.append_error != errc::ok) {
    // 507 Insufficient Storage: below the free-space limit; retry once space is back.
    unsigned status = done.append_error == errc::batch_too_large ? 413
                      : done.append_error == errc::no_space      ? 507
                                                                 : 500;
    co_return reply{status, error_body(status == 413   ? 41301
                                       : status == 507 ? 50701
                                                       : 50001,
                                       done.message)};
  }
  if (done.sync_failed) co_return reply{408, error_body(40801, done.message)};
  auto& base = done.base_offsets;
  json_writer w;
  w.begin_object().key("key_schema_id");
  if (key_schema)
    w.value(key_schema->id);
  else
    w.null();
  w.key("value_schema_id");
  if (value_schema)
    w.value(value_schema->id);
  else
    w.null();
  w.key("offsets").begin_array();
  for (const auto& at : where)
    w.begin_object()
        .key("partition")
        .value(static_cast<int64_t>(at.partition))
        .key("offset")
        .value(static_cast<int64_t>(base[at.partition] + at.index_in_batch))
        .key("error_code")
        .null()
        .key("error")
        .null()
        .end_object();
  w.end_array().end_object();
  co_return reply{200, std::move(w).str()};
}

}  // namespace sluice::http
