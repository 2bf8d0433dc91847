#pragma once
// Decodes Debezium's JSON change envelope ({"before","after","op",...}, with or without the
// {"schema","payload"} wrapper): the row is `after`, read like any JSON record
// (stream/json_decoder.h). A delete (op "d", `after` null) fills the row from `before` (at least
// its key columns) and says so, so that a table removes the row. The sources of sluice's own
// postgres-cdc connector, and of Debezium's connectors, read as changelog tables.
//
// Not thread-safe: one decoder per query thread.

#include <memory>

#include "stream/json_decoder.h"

namespace sluice::stream {

class debezium_decoder final : public record_decoder {
 public:
  explicit debezium_decoder(std::vector<field_type> schema, std::vector<bool> needed = {});
  ~debezium_decoder() override;
  bool decode(std::string_view json, row& out, std::string& err) override;
  bool decode_change(std::string_view json, row& out, bool& removed, std::string& err) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::stream
