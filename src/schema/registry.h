#pragma once
// The schema registry: subjects with numbered versions of schemas, global schema ids, a
// compatibility level and a mode per subject or globally, as Confluent's Schema Registry
// defines them (its REST API is http/schema_registry_api.h).
//
// Durable in the internal compacted topic `_schemas`, one record per change in Confluent's own
// layout (docs/schemas.md): a SCHEMA record per subject version (tombstoned by a permanent
// delete), CONFIG and MODE records per subject or for the whole registry (subject null). The
// registry is rebuilt from the topic at start-up; ids are global and never handed out twice
// while the schema that had them is kept; the same schema registered again, under any subject,
// gets the same id.
//
// Thread-safe. Reads take a shared lock and never touch the disk; a change is appended under
// the exclusive lock, applied, and reported to its callback once it is on disk (from the log's
// flusher thread), or with the error that kept it from being written.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <variant>
#include <vector>

#include "base/result.h"
#include "schema/parsed_schema.h"

namespace sluice {
class json_writer;
}
namespace sluice::log {
class log;
class partition;
}  // namespace sluice::log

namespace sluice::schema {

enum class compatibility {
  backward,
  backward_transitive,
  forward,
  forward_transitive,
  full,
  full_transitive,
  none,
};
std::string_view name_of(compatibility c);
bool parse_compatibility(std::string_view name, compatibility& out);

enum class registry_mode { readwrite, readonly, import };
std::string_view name_of(registry_mode m);
bool parse_mode(std::string_view name, registry_mode& out);

struct schema_reference {
  std::string name;  // how the referring schema names it (Avro: the full name of its type)
  std::string subject;
  int32_t version = 0;
};

// Writes `"references": [{"name","subject","version"}, ...]` into an open JSON object, when
// there are any (the registry's record values and its API's answers alike).
void write_references(json_writer& w, const std::vector<schema_reference>& refs);

// What a client submits: a schema's type, text and references.
struct schema_input {
  schema_type type = schema_type::avro;
  std::string text;
  std::vector<schema_reference> references;
};

// One version of a subject.
struct schema_version {
  std::string subject;
  int32_t version = 0;
  int32_t id = 0;
  schema_type type = schema_type::avro;
  std::string text;
  std::vector<schema_reference> references;
  bool deleted = false;  // soft-deleted
};

// A refusal in the registry's terms: the HTTP status and Confluent's error code (40401 subject
// not found, 42201 invalid schema, 409 incompatible, ...) with a message.
struct registry_error {
  int status = 500;
  int code = 50001;
  std::string message;
};

template <class T>
using outcome = std::variant<T, registry_error>;

struct registry_stats {
  size_t subjects = 0;
  size_t versions = 0;
  size_t schemas = 0;
};

class registry {
 public:
  // Rebuilds the registry from `_schemas` in `log` (created by the first change).
  // Errors: those of the log, corrupt_batch.
  static result<std::shared_ptr<registry>> open(log::log& log);
  ~registry();

  // --- changes: `done` is called once the change is durable (or refused) -------------------

  // Registers `in` under `subject` (a new version if it differs from every live version and
  // is compatible by the subject's level) and answers the schema's id. A schema already live
  // in the subject answers its id without a change. `id` (IMPORT mode only) asks for that id.
  void register_schema(const std::string& subject, const schema_input& in,
                       std::optional<int32_t> id, std::function<void(outcome<int32_t>)> done);
  // Soft-deletes (then, with `permanent`, forgets) every version of `subject`; answers the
  // versions deleted.
  void delete_subject(const std::string& subject, bool permanent,
                      std::function<void(outcome<std::vector<int32_t>>)> done);
  // Soft-deletes (or forgets) one version; -1 is the latest. Answers the version number.
  void delete_version(const std::string& subject, int32_t version, bool permanent,
                      std::function<void(outcome<int32_t>)> done);
  // Sets (or with nullopt removes) the compatibility level of `subject`, or the global one for
  // an empty subject.
  void set_compatibility(const std::string& subject, std::optional<compatibility> level,
                         std::function<void(outcome<compatibility>)> done);
  void set_mode(const std::string& subject, std::optional<registry_mode> mode,
                std::function<void(outcome<registry_mode>)> done);

  // --- reads ------------------------------------------------------------------------------

  std::vector<std::string> subjects(bool include_deleted, std::string_view prefix = {}) const;
  outcome<std::vector<int32_t>> versions(const std::string& subject, bool include_deleted) const;
  // Version `version` (-1: the latest live one) of `subject`.
  outcome<schema_version> version(const std::string& subject, int32_t version,
                                  bool include_deleted) const;
  // The live version of `subject` whose schema is `in` (40401 / 40403 otherwise).
  outcome<schema_version> lookup(const std::string& subject, const schema_input& in,
                                 bool include_deleted) const;
  // The schema with `id` (40403 when unknown).
  outcome<schema_version> by_id(int32_t id) const;
  // The subject-version pairs that hold schema `id`.
  std::vector<std::pair<std::string, int32_t>> uses_of(int32_t id, bool include_deleted) const;
  // The parsed schema with `id` (nullptr when unknown): what the data path decodes with.
  std::shared_ptr<const parsed_schema> parsed(int32_t id) const;
  // The latest live version's parsed schema and id of `subject` (nullptr when none).
  std::pair<std::shared_ptr<const parsed_schema>, int32_t> latest(const std::string& subject) const;

  // Whether `in` may be registered under `subject` against `version` (-1: the latest; 0: every
  // version the subject's level asks for): the reasons it may not, empty when it may.
  outcome<std::vector<std::string>> test_compatibility(const std::string& subject, int32_t version,
                                                       const schema_input& in) const;

  compatibility global_compatibility() const;
  // The subject's own level (nullopt: none set, it follows the global one).
  std::optional<compatibility> subject_compatibility(const std::string& subject) const;
  registry_mode global_mode() const;
  std::optional<registry_mode> subject_mode(const std::string& subject) const;

  registry_stats stats() const;
  // Bumped by every applied change; a reader may cache what it read under one generation.
  uint64_t generation() const;

 private:
  struct impl;
  explicit registry(std::shared_ptr<impl> i);
  std::shared_ptr<impl> impl_;
};

}  // namespace sluice::schema
