#include "schema/protobuf_schema.h"

#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <map>

namespace sluice::schema::protobuf {

namespace gp = google::protobuf;

namespace {

constexpr const char* k_main_file = "schema.proto";

struct text_errors final : gp::io::ErrorCollector {
  std::string first;
  void AddError(int line, gp::io::ColumnNumber column, const std::string& message) override {
    if (first.empty())
      first =
          "line " + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
  }
};

struct build_errors final : gp::DescriptorPool::ErrorCollector {
  std::string first;
  void AddError(const std::string& file, const std::string& element, const gp::Message*,
                ErrorLocation, const std::string& message) override {
    if (first.empty())
      first = (file == k_main_file ? "" : file + ": ") + (element.empty() ? "" : element + ": ") +
              message;
  }
};

// Parses .proto text into `out`, named `name`. False and `err` on a syntax error.
bool parse_file(std::string_view text, const std::string& name, gp::FileDescriptorProto& out,
                std::string& err) {
  gp::io::ArrayInputStream in(text.data(), static_cast<int>(text.size()));
  text_errors errors;
  gp::io::Tokenizer tokenizer(&in, &errors);
  gp::compiler::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.Parse(&tokenizer, &out) || !errors.first.empty()) {
    err = errors.first.empty() ? "not a .proto file" : errors.first;
    return false;
  }
  out.set_name(name);
  return true;
}

// A field's wire-compatibility group (Protobuf's "Updating A Message Type" rules).
int scalar_group(gp::FieldDescriptor::Type t) {
  using F = gp::FieldDescriptor;
  switch (t) {
    case F::TYPE_INT32:
    case F::TYPE_UINT32:
    case F::TYPE_INT64:
    case F::TYPE_UINT64:
    case F::TYPE_BOOL:
    case F::TYPE_ENUM:
      return 1;
    case F::TYPE_SINT32:
    case F::TYPE_SINT64:
      return 2;
    case F::TYPE_FIXED32:
    case F::TYPE_SFIXED32:
      return 3;
    case F::TYPE_FIXED64:
    case F::TYPE_SFIXED64:
      return 4;
    case F::TYPE_STRING:
    case F::TYPE_BYTES:
      return 5;
    case F::TYPE_FLOAT:
      return 6;
    case F::TYPE_DOUBLE:
      return 7;
    case F::TYPE_MESSAGE:
      return 8;
    case F::TYPE_GROUP:
      return 9;
  }
  return 0;
}

const char* kind_of(const gp::FieldDescriptor& f) {
  return f.is_map() ? "map" : f.is_repeated() ? "repeated" : "singular";
}

void collect_messages(const gp::Descriptor& d, std::map<std::string, const gp::Descriptor*>& out) {
  out[d.full_name()] = &d;
  for (int i = 0; i < d.nested_type_count(); ++i)
    collect_messages(*d.nested_type(i), out);
}

}  // namespace

schema::~schema() = default;

std::shared_ptr<const schema> schema::parse(std::string_view text,
                                            const std::vector<referenced_text>& references,
                                            std::string& error) {
  std::shared_ptr<schema> s(new schema());
  // Imports of the well-known types resolve from the descriptors libprotobuf carries.
  s->pool_ = std::make_unique<gp::DescriptorPool>(gp::DescriptorPool::generated_pool());
  build_errors errors;
  for (const auto& r : references) {
    gp::FileDescriptorProto fp;
    std::string err;
    if (!parse_file(r.text, r.name, fp, err)) {
      error = "reference '" + r.name + "': " + err;
      return nullptr;
    }
    if (s->pool_->FindFileByName(r.name)) continue;
    if (!s->pool_->BuildFileCollectingErrors(fp, &errors)) {
      error = "reference '" + r.name + "': " + errors.first;
      return nullptr;
    }
  }
  gp::FileDescriptorProto fp;
  if (!parse_file(text, k_main_file, fp, error)) return nullptr;
  s->file_ = s->pool_->BuildFileCollectingErrors(fp, &errors);
  if (!s->file_) {
    error = errors.first;
    return nullptr;
  }
  if (s->file_->message_type_count() == 0) {
    error = "the schema defines no message";
    return nullptr;
  }
  s->text_ = s->file_->DebugString();
  return s;
}

const gp::Descriptor* schema::message(const std::vector<int32_t>& indexes) const {
  if (indexes.empty()) return file_->message_type(0);
  if (indexes[0] < 0 || indexes[0] >= file_->message_type_count()) return nullptr;
  const gp::Descriptor* d = file_->message_type(indexes[0]);
  for (size_t i = 1; i < indexes.size(); ++i) {
    if (indexes[i] < 0 || indexes[i] >= d->nested_type_count()) return nullptr;
    d = d->nested_type(indexes[i]);
  }
  return d;
}

std::vector<avro::incompatibility> check_compatibility(const schema& reader, const schema& writer) {
  std::vector<avro::incompatibility> out;
  auto add = [&](const char* kind, const std::string& path, std::string message) {
    out.push_back({kind, path, std::move(message)});
  };
  if (reader.file().package() != writer.file().package())
    add("PACKAGE_CHANGED", "#/package",
        "the package changed from '" + writer.file().package() + "' to '" +
            reader.file().package() + "'");
  std::map<std::string, const gp::Descriptor*> old_messages, new_messages;
  for (int i = 0; i < writer.file().message_type_count(); ++i)
    collect_messages(*writer.file().message_type(i), old_messages);
  for (int i = 0; i < reader.file().message_type_count(); ++i)
    collect_messages(*reader.file().message_type(i), new_messages);
  for (const auto& [name, w] : old_messages) {
    auto it = new_messages.find(name);
    if (it == new_messages.end()) {
      add("MESSAGE_REMOVED", "#/" + name, "message " + name + " was removed");
      continue;
    }
    const gp::Descriptor& r = *it->second;
    for (int i = 0; i < w->field_count(); ++i) {
      const auto& wf = *w->field(i);
      std::string path = "#/" + name + "/" + std::to_string(wf.number());
      const auto* rf = r.FindFieldByNumber(wf.number());
      if (!rf) {
        if (wf.is_required())
          add("REQUIRED_FIELD_REMOVED", path, "required field " + wf.name() + " was removed");
        continue;
      }
      if (std::string(kind_of(wf)) != kind_of(*rf)) {
        add("FIELD_KIND_CHANGED", path,
            "field " + wf.name() + " changed from " + kind_of(wf) + " to " + kind_of(*rf));
        continue;
      }
      if (scalar_group(wf.type()) != scalar_group(rf->type())) {
        add("FIELD_SCALAR_KIND_CHANGED", path,
            "field " + wf.name() + " changed type from " + wf.type_name() + " to " +
                rf->type_name());
        continue;
      }
      if (wf.message_type() && rf->message_type() &&
          wf.message_type()->full_name() != rf->message_type()->full_name())
        add("FIELD_NAMED_TYPE_CHANGED", path,
            "field " + wf.name() + " changed type from " + wf.message_type()->full_name() + " to " +
                rf->message_type()->full_name());
      if (wf.real_containing_oneof() == nullptr && rf->real_containing_oneof() != nullptr) {
        int moved = 0;
        for (int k = 0; k < rf->real_containing_oneof()->field_count(); ++k)
          moved += w->FindFieldByNumber(rf->real_containing_oneof()->field(k)->number()) != nullptr;
        if (moved > 1)
          add("MULTIPLE_FIELDS_MOVED_TO_ONEOF", path,
              "field " + wf.name() + " moved into oneof " +
                  std::string(rf->real_containing_oneof()->name()) + " with other fields");
      }
    }
    for (int i = 0; i < r.field_count(); ++i)
      if (r.field(i)->is_required() && !w->FindFieldByNumber(r.field(i)->number()))
        add("REQUIRED_FIELD_ADDED", "#/" + name + "/" + std::to_string(r.field(i)->number()),
            "required field " + r.field(i)->name() + " was added");
  }
  return out;
}

}  // namespace sluice::schema::protobuf
