#include "stream/debezium_decoder.h"

#include <simdjson.h>

namespace sluice::stream {

struct debezium_decoder::impl {
  explicit impl(std::vector<field_type> schema, std::vector<bool> needed)
      : rows(std::move(schema), std::move(needed)) {}
  json_decoder rows;
  simdjson::ondemand::parser parser;
  simdjson::padded_string buffer;
  std::string image;  // the row image's text, copied out of the parser's document
};

debezium_decoder::debezium_decoder(std::vector<field_type> schema, std::vector<bool> needed)
    : impl_(std::make_unique<impl>(std::move(schema), std::move(needed))) {}

debezium_decoder::~debezium_decoder() = default;

bool debezium_decoder::decode(std::string_view json, row& out, std::string& err) {
  bool removed = false;
  if (!decode_change(json, out, removed, err)) return false;
  if (removed) {
    err = "a delete (op \"d\") where rows are appended";
    return false;
  }
  return true;
}

bool debezium_decoder::decode_change(std::string_view json, row& out, bool& removed,
                                     std::string& err) {
  auto& m = *impl_;
  m.buffer = simdjson::padded_string(json);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object envelope;
  if (m.parser.iterate(m.buffer).get(doc) || doc.get_object().get(envelope)) {
    err = "not a Debezium change envelope (a JSON object)";
    return false;
  }
  // The envelope, or {"schema":..,"payload":envelope} (JSON converter with schemas).
  std::string_view before, after, op;
  bool has_after = false, has_before = false;
  auto read = [&](simdjson::ondemand::object o, auto& self, int depth) -> bool {
    for (auto field : o) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return false;
      simdjson::ondemand::value v;
      if (field.value().get(v)) return false;
      if (key == "payload" && depth == 0) {
        simdjson::ondemand::object inner;
        if (v.get_object().get(inner)) return false;
        return self(inner, self, 1);
      }
      if (key == "after" || key == "before") {
        simdjson::ondemand::json_type t;
        if (v.type().get(t)) return false;
        if (t != simdjson::ondemand::json_type::object) continue;  // null
        simdjson::ondemand::object image;
        if (v.get_object().get(image)) return false;
        if (image.raw_json().get(key == "after" ? after : before)) return false;
        (key == "after" ? has_after : has_before) = true;
      } else if (key == "op") {
        if (v.get_string().get(op)) return false;
      }
    }
    return true;
  };
  if (!read(envelope, read, 0)) {
    err = "not a Debezium change envelope";
    return false;
  }
  removed = op == "d" || (!has_after && has_before);
  if (!has_after && !has_before) {
    err = "a Debezium change with neither 'before' nor 'after'";
    return false;
  }
  m.image = std::string(removed ? before : after);
  return m.rows.decode(m.image, out, err);
}

}  // namespace sluice::stream
