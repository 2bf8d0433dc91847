#include "schema/parsed_schema.h"

#include "base/strings.h"
#include "schema/json_schema.h"
#include "schema/protobuf_schema.h"

namespace sluice::schema {

namespace {

class avro_parsed final : public parsed_schema {
 public:
  explicit avro_parsed(std::shared_ptr<const avro::schema> s) : s_(std::move(s)) {}
  schema_type type() const override { return schema_type::avro; }
  const std::string& text() const override { return s_->text(); }
  std::vector<avro::incompatibility> can_read(const parsed_schema& writer) const override {
    const auto& w = static_cast<const avro_parsed&>(writer);
    return avro::check_resolution(s_->root(), w.s_->root());
  }
  const std::shared_ptr<const avro::schema>& avro() const { return s_; }

 private:
  std::shared_ptr<const avro::schema> s_;
};

class protobuf_parsed final : public parsed_schema {
 public:
  explicit protobuf_parsed(std::shared_ptr<const protobuf::schema> s) : s_(std::move(s)) {}
  schema_type type() const override { return schema_type::protobuf; }
  const std::string& text() const override { return s_->text(); }
  std::vector<avro::incompatibility> can_read(const parsed_schema& writer) const override {
    return protobuf::check_compatibility(*s_, *static_cast<const protobuf_parsed&>(writer).s_);
  }
  const std::shared_ptr<const protobuf::schema>& proto() const { return s_; }

 private:
  std::shared_ptr<const protobuf::schema> s_;
};

class json_parsed final : public parsed_schema {
 public:
  explicit json_parsed(std::shared_ptr<const json::schema> s) : s_(std::move(s)) {}
  schema_type type() const override { return schema_type::json; }
  const std::string& text() const override { return s_->text(); }
  std::vector<avro::incompatibility> can_read(const parsed_schema& writer) const override {
    return json::check_compatibility(*s_, *static_cast<const json_parsed&>(writer).s_);
  }
  const std::shared_ptr<const json::schema>& json() const { return s_; }

 private:
  std::shared_ptr<const json::schema> s_;
};

}  // namespace

std::string_view name_of(schema_type t) {
  switch (t) {
    case schema_type::avro:
      return "AVRO";
    case schema_type::protobuf:
      return "PROTOBUF";
    case schema_type::json:
      return "JSON";
  }
  return "AVRO";
}

bool parse_schema_type(std::string_view name, schema_type& out) {
  for (auto t : {schema_type::avro, schema_type::protobuf, schema_type::json})
    if (iequals(name, name_of(t))) {
      out = t;
      return true;
    }
  return false;
}

std::shared_ptr<const parsed_schema> parse_schema(schema_type type, std::string_view text,
                                                  const std::vector<referenced_text>& references,
                                                  std::string& error) {
  if (type == schema_type::protobuf) {
    auto s = protobuf::schema::parse(text, references, error);
    if (!s) return nullptr;
    return std::make_shared<protobuf_parsed>(std::move(s));
  }
  if (type == schema_type::json) {
    auto s = json::schema::parse(text, references, error);
    if (!s) return nullptr;
    return std::make_shared<json_parsed>(std::move(s));
  }
  std::vector<std::string> texts;
  for (const auto& r : references)
    texts.push_back(r.text);
  auto s = avro::schema::parse(text, error, texts);
  if (!s) return nullptr;
  return std::make_shared<avro_parsed>(std::move(s));
}

std::shared_ptr<const avro::schema> avro_of(const std::shared_ptr<const parsed_schema>& s) {
  return s ? avro_of(*s) : nullptr;
}
std::shared_ptr<const avro::schema> avro_of(const parsed_schema& s) {
  if (s.type() != schema_type::avro) return nullptr;
  return static_cast<const avro_parsed&>(s).avro();
}

}  // namespace sluice::schema

namespace sluice::schema {

std::shared_ptr<const protobuf::schema> protobuf_of(const std::shared_ptr<const parsed_schema>& s) {
  return s ? protobuf_of(*s) : nullptr;
}
std::shared_ptr<const protobuf::schema> protobuf_of(const parsed_schema& s) {
  if (s.type() != schema_type::protobuf) return nullptr;
  return static_cast<const protobuf_parsed&>(s).proto();
}

std::shared_ptr<const json::schema> json_schema_of(const std::shared_ptr<const parsed_schema>& s) {
  return s ? json_schema_of(*s) : nullptr;
}
std::shared_ptr<const json::schema> json_schema_of(const parsed_schema& s) {
  if (s.type() != schema_type::json) return nullptr;
  return static_cast<const json_parsed&>(s).json();
}

}  // namespace sluice::schema
