#include "schema/wire_format.h"

#include <map>
#include <unordered_map>

#include "base/bytes.h"
#include "schema/avro_codec.h"
#include "schema/avro_json.h"
#include "schema/json_schema.h"
#include "schema/protobuf_codec.h"
#include "schema/protobuf_schema.h"
#include "schema/registry.h"
#include "stream/json_decoder.h"

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>

namespace sluice::schema {

std::optional<int32_t> framed_schema_id(std::string_view value, std::string& err) {
  if (value.size() < k_wire_header || static_cast<uint8_t>(value[0]) != k_wire_magic) {
    err = value.empty() ? "an empty value, not a schema registry record"
                        : "not a schema registry record (no magic byte 0 and schema id)";
    return std::nullopt;
  }
  return static_cast<int32_t>(load_be32(reinterpret_cast<const uint8_t*>(value.data()) + 1));
}

void append_wire_header(std::string& out, int32_t id) {
  uint8_t h[k_wire_header] = {k_wire_magic};
  store_be32(h + 1, static_cast<uint32_t>(id));
  out.append(reinterpret_cast<const char*>(h), k_wire_header);
}

std::optional<std::string> framed_to_json(const registry& registry, std::string_view value,
                                          bool wrap_unions, std::string& err) {
  auto id = framed_schema_id(value, err);
  if (!id) return std::nullopt;
  auto parsed = registry.parsed(*id);
  if (!parsed) {
    err = "schema id " + std::to_string(*id) + " is not in the registry";
    return std::nullopt;
  }
  std::string_view body = value.substr(k_wire_header);
  if (auto s = avro_of(parsed)) {
    json_writer w;
    if (!avro_to_json(s->root(), body, w, wrap_unions, err)) return std::nullopt;
    return std::move(w).str();
  }
  if (auto s = protobuf_of(parsed)) {
    std::string_view rest = body;
    auto indexes = read_message_indexes(rest, err);
    const auto* message = indexes ? s->message(*indexes) : nullptr;
    google::protobuf::DynamicMessageFactory factory;
    auto parse = [&](const google::protobuf::Descriptor* d,
                     std::string_view bytes) -> std::unique_ptr<google::protobuf::Message> {
      if (!d) return nullptr;
      std::unique_ptr<google::protobuf::Message> m(factory.GetPrototype(d)->New());
      if (!m->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return nullptr;
      return m;
    };
    auto m = parse(message, rest);
    if (!m) m = parse(s->message({}), body);  // written without message indexes
    if (!m) {
      err = "not a message of schema " + std::to_string(*id);
      return std::nullopt;
    }
    std::string out;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(*m, &out, options).ok()) {
      err = "cannot print the message as JSON";
      return std::nullopt;
    }
    return out;
  }
  if (!simdjson::validate_utf8(body.data(), body.size())) {
    err = "not JSON";
    return std::nullopt;
  }
  return std::string(body);
}

std::optional<std::string> framed_from_json(const parsed_schema& parsed, int32_t id,
                                            simdjson::dom::element doc, std::string& err) {
  std::string out;
  append_wire_header(out, id);
  switch (parsed.type()) {
    case schema_type::avro: {
      auto s = avro_of(parsed);
      if (!json_to_avro(s->root(), doc, out, err)) return std::nullopt;
      return out;
    }
    case schema_type::protobuf: {
      auto s = protobuf_of(parsed);
      google::protobuf::DynamicMessageFactory factory;
      std::unique_ptr<google::protobuf::Message> m(factory.GetPrototype(s->message({}))->New());
      auto status = google::protobuf::util::JsonStringToMessage(simdjson::minify(doc), m.get());
      if (!status.ok()) {
        err = std::string(status.message());
        return std::nullopt;
      }
      append_message_indexes(out, {0});
      if (!m->AppendToString(&out)) {
        err = "cannot encode the message";
        return std::nullopt;
      }
      return out;
    }
    case schema_type::json: {
      auto s = json_schema_of(parsed);
      if (!s->validate(doc, err)) return std::nullopt;
      out += simdjson::minify(doc);
      return out;
    }
  }
  return std::nullopt;
}

namespace {

class registry_avro_decoder final : public stream::record_decoder {
 public:
  registry_avro_decoder(std::shared_ptr<const registry> r, std::vector<stream::field_type> columns,
                        std::vector<bool> needed, int32_t reader_id)
      : registry_(std::move(r)), columns_(std::move(columns)), needed_(std::move(needed)) {
    if (reader_id) reader_ = avro_of(registry_->parsed(reader_id));
  }

  bool decode(std::string_view payload, stream::row& out, std::string& err) override {
    auto id = framed_schema_id(payload, err);
    if (!id) return false;
    auto* d = last_id_ == *id ? last_ : find(*id, err);
    if (!d) return false;
    return d->decode(payload.substr(k_wire_header), out, err);
  }

 private:
  struct entry {
    std::shared_ptr<const avro::schema> schema;  // keeps the decoder's nodes alive
    std::unique_ptr<avro_row_decoder> decoder;
  };

  avro_row_decoder* find(int32_t id, std::string& err) {
    auto it = cache_.find(id);
    if (it == cache_.end()) {
      auto s = avro_of(registry_->parsed(id));
      if (!s) {
        err = registry_->parsed(id)
                  ? "schema " + std::to_string(id) + " is not an Avro schema"
                  : "schema id " + std::to_string(id) + " is not in the schema registry";
        return nullptr;
      }
      if (s->root().type != avro::type::record) {
        err = "schema " + std::to_string(id) + " is not an Avro record";
        return nullptr;
      }
      entry e{s, std::make_unique<avro_row_decoder>(s->root(), columns_, needed_,
                                                    reader_ ? &reader_->root() : nullptr)};
      it = cache_.emplace(id, std::move(e)).first;
    }
    last_id_ = id;
    last_ = it->second.decoder.get();
    return last_;
  }

  std::shared_ptr<const registry> registry_;
  std::shared_ptr<const avro::schema> reader_;  // the columns' schema (may be null)
  std::vector<stream::field_type> columns_;
  std::vector<bool> needed_;
  std::unordered_map<int32_t, entry> cache_;
  int32_t last_id_ = -1;
  avro_row_decoder* last_ = nullptr;
};

class registry_protobuf_decoder final : public stream::record_decoder {
 public:
  registry_protobuf_decoder(std::shared_ptr<const registry> r,
                            std::vector<stream::field_type> columns, std::vector<bool> needed)
      : registry_(std::move(r)), columns_(std::move(columns)), needed_(std::move(needed)) {}

  // Some producers (@kafkajs/confluent-schema-registry among them) leave the message indexes
  // out. When the indexes do not parse, name no message, or leave bytes that do not decode,
  // the value is read again as the first message with no indexes (as Confluent's own
  // JavaScript client does since 2026); the first error is the one reported.
  bool decode(std::string_view payload, stream::row& out, std::string& err) override {
    auto id = framed_schema_id(payload, err);
    if (!id) return false;
    payload.remove_prefix(k_wire_header);
    std::string_view body = payload;
    auto indexes = read_message_indexes(body, err);
    if (indexes) {
      auto* d = find(*id, *indexes, err);
      if (d && d->decode(body, out, err)) return true;
      if (!d && err.starts_with("schema id")) return false;
    }
    std::string again;
    auto* d = find(*id, {}, again);
    return d && d->decode(payload, out, again);
  }

 private:
  struct entry {
    std::shared_ptr<const protobuf::schema> schema;  // keeps the descriptors alive
    std::unique_ptr<protobuf_row_decoder> decoder;
  };

  protobuf_row_decoder* find(int32_t id, const std::vector<int32_t>& indexes, std::string& err) {
    if (id == last_id_ && indexes == last_indexes_) return last_;
    auto key = std::make_pair(id, indexes);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      auto s = protobuf_of(registry_->parsed(id));
      if (!s) {
        err = "schema id " + std::to_string(id) + " is not a Protobuf schema in the registry";
        return nullptr;
      }
      const auto* message = s->message(indexes);
      if (!message) {
        err = "schema " + std::to_string(id) + " has no message at those indexes";
        return nullptr;
      }
      entry e{s, std::make_unique<protobuf_row_decoder>(*message, columns_, needed_)};
      it = cache_.emplace(key, std::move(e)).first;
    }
    last_id_ = id;
    last_indexes_ = indexes;
    last_ = it->second.decoder.get();
    return last_;
  }
  std::shared_ptr<const registry> registry_;
  std::vector<stream::field_type> columns_;
  std::vector<bool> needed_;
  std::map<std::pair<int32_t, std::vector<int32_t>>, entry> cache_;
  int32_t last_id_ = -1;
  std::vector<int32_t> last_indexes_;
  protobuf_row_decoder* last_ = nullptr;
};

class registry_json_decoder final : public stream::record_decoder {
 public:
  registry_json_decoder(std::shared_ptr<const registry> r, std::vector<stream::field_type> columns,
                        std::vector<bool> needed)
      : registry_(std::move(r)), json_(std::move(columns), std::move(needed)) {}

  bool decode(std::string_view payload, stream::row& out, std::string& err) override {
    auto id = framed_schema_id(payload, err);
    if (!id) return false;
    payload.remove_prefix(k_wire_header);
    if (*id != last_id_) {
      auto s = json_schema_of(registry_->parsed(*id));
      if (!s) {
        err = "schema id " + std::to_string(*id) + " is not a JSON Schema in the registry";
        return false;
      }
      schema_ = std::move(s);
      last_id_ = *id;
    }
    simdjson::dom::element doc;
    if (auto e = parser_.parse(payload.data(), payload.size()).get(doc)) {
      err = std::string("not JSON: ") + simdjson::error_message(e);
      return false;
    }
    if (!schema_->validate(doc, err)) {
      err = "invalid by schema " + std::to_string(*id) + ": " + err;
      return false;
    }
    return json_.decode(payload, out, err);
  }

 private:
  std::shared_ptr<const registry> registry_;
  stream::json_decoder json_;
  simdjson::dom::parser parser_;
  std::shared_ptr<const json::schema> schema_;
  int32_t last_id_ = -1;
};

class avro_encoder final : public stream::record_encoder {
 public:
  avro_encoder(int32_t id, std::vector<stream::field_type> columns)
      : id_(id), columns_(std::move(columns)) {}
  void append(std::string& out, const stream::row& r) override {
    append_wire_header(out, id_);
    avro_encode_row(out, columns_, r);
  }
  std::string_view format() const override { return "AVRO"; }

 private:
  int32_t id_;
  std::vector<stream::field_type> columns_;
};

class protobuf_encoder final : public stream::record_encoder {
 public:
  protobuf_encoder(int32_t id, std::vector<stream::field_type> columns)
      : id_(id), columns_(std::move(columns)) {}
  void append(std::string& out, const stream::row& r) override {
    append_wire_header(out, id_);
    out.push_back(0);  // message indexes: [0]
    protobuf_encode_row(out, columns_, r);
  }
  std::string_view format() const override { return "PROTOBUF"; }

 private:
  int32_t id_;
  std::vector<stream::field_type> columns_;
};

class json_schema_encoder final : public stream::record_encoder {
 public:
  json_schema_encoder(int32_t id, const std::vector<stream::field_type>& columns)
      : id_(id), json_(names_of(columns)) {}
  void append(std::string& out, const stream::row& r) override {
    append_wire_header(out, id_);
    json_.append(out, r);
  }
  std::string_view format() const override { return "JSON_SR"; }

 private:
  static std::vector<std::string> names_of(const std::vector<stream::field_type>& columns) {
    std::vector<std::string> out;
    for (const auto& c : columns)
      out.push_back(c.name);
    return out;
  }
  int32_t id_;
  stream::json_row_encoder json_;
};

}  // namespace

stream::decoder_factory avro_decoder_factory(std::shared_ptr<const registry> r, int32_t reader_id) {
  return [r, reader_id](const std::vector<stream::field_type>& columns,
                        const std::vector<bool>& needed) {
    return std::make_unique<registry_avro_decoder>(r, columns, needed, reader_id);
  };
}

stream::decoder_factory protobuf_decoder_factory(std::shared_ptr<const registry> r) {
  return [r](const std::vector<stream::field_type>& columns, const std::vector<bool>& needed) {
    return std::make_unique<registry_protobuf_decoder>(r, columns, needed);
  };
}

stream::decoder_factory json_schema_decoder_factory(std::shared_ptr<const registry> r) {
  return [r](const std::vector<stream::field_type>& columns, const std::vector<bool>& needed) {
    return std::make_unique<registry_json_decoder>(r, columns, needed);
  };
}

std::unique_ptr<stream::record_encoder> make_avro_encoder(int32_t id,
                                                          std::vector<stream::field_type> columns) {
  return std::make_unique<avro_encoder>(id, std::move(columns));
}

std::unique_ptr<stream::record_encoder> make_protobuf_encoder(
    int32_t id, std::vector<stream::field_type> columns) {
  return std::make_unique<protobuf_encoder>(id, std::move(columns));
}

std::unique_ptr<stream::record_encoder> make_json_schema_encoder(
    int32_t id, std::vector<stream::field_type> columns) {
  return std::make_unique<json_schema_encoder>(id, columns);
}

}  // namespace sluice::schema
