#include "connect/postgres/table_sink.h"

#include <simdjson.h>

#include <map>

#include "connect/postgres/connection.h"

namespace sluice::connect {

namespace {

using pg::quote_ident;

// A JSON value as a text parameter (nullopt: NULL).
std::optional<std::string> as_param(simdjson::dom::element v) {
  std::string_view s;
  bool b = false;
  if (v.is_null()) return std::nullopt;
  if (!v.get(s)) return std::string(s);
  if (!v.get(b)) return std::string(b ? "true" : "false");
  return simdjson::minify(v);
}

std::string sql_type(simdjson::dom::element v) {
  switch (v.type()) {
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
      return "bigint";
    case simdjson::dom::element_type::DOUBLE:
      return "double precision";
    case simdjson::dom::element_type::BOOL:
      return "boolean";
    case simdjson::dom::element_type::ARRAY:
    case simdjson::dom::element_type::OBJECT:
      return "jsonb";
    default:
      return "text";
  }
}

class table_sink final : public sink_task {
 public:
  explicit table_sink(const config& c) : c_(c) {}

  result<void> start() override {
    table_ = pg::quote_table(setting(c_, "table.name"));
    pk_ = list_setting(c_, "pk.fields");
    upsert_ = setting(c_, "insert.mode", "upsert") == "upsert";
    create_ = setting(c_, "auto.create", "false") == "true";
    return connect();
  }

  result<void> put(std::span<const sink_record> records) override {
    if (!conn_)
      if (auto r = connect(); !r) return r;
    // The last change of each key; rows without a key (insert mode) in order.
    struct change {
      std::optional<std::string> row;  // JSON; nullopt: delete
      std::vector<std::optional<std::string>> key;
    };
    std::map<std::vector<std::optional<std::string>>, size_t> by_key;
    std::vector<change> changes;
    simdjson::dom::parser parser;
    for (const auto& r : records) {
      change ch;
      ch.row = r.value;
      if (!pk_.empty()) {
        auto k = key_of(r, parser);
        if (!k) return k.error();
        ch.key = std::move(*k);
        auto [it, fresh] = by_key.emplace(ch.key, changes.size());
        if (!fresh) {
          changes[it->second] = std::move(ch);
          continue;
        }
      } else if (!r.value) {
        continue;  // a delete without pk.fields: nothing to match it by
      }
      changes.push_back(std::move(ch));
    }
    if (changes.empty()) return {};
    if (auto r = exec("BEGIN"); !r) return r;
    auto r = apply(changes, parser);
    if (!r) {
      (void)exec("ROLLBACK");
      return r;
    }
    return exec("COMMIT");
  }

  result<void> flush() override { return {}; }  // put() commits
  void stop() override { conn_.reset(); }

 private:
  template <class Changes>
  result<void> apply(const Changes& changes, simdjson::dom::parser& parser) {
    // Deletes, as one statement.
    std::vector<std::optional<std::string>> params;
    std::string where;
    for (const auto& ch : changes) {
      if (ch.row) continue;
      where += where.empty() ? "(" : ",(";
      for (size_t i = 0; i < ch.key.size(); ++i) {
        params.push_back(ch.key[i]);
        where += (i ? ",$" : "$") + std::to_string(params.size());
      }
      where += ")";
    }
    if (!params.empty()) {
      std::string cols;
      for (size_t i = 0; i < pk_.size(); ++i)
        cols += (i ? "," : "") + quote_ident(pk_[i]);
      if (auto r = exec_params("DELETE FROM " + table_ + " WHERE (" + cols + ") IN (" + where + ")",
                               params);
          !r)
        return r;
    }
    // Rows, one INSERT per set of columns (a view's rows all have the same).
    std::vector<std::string> columns;
    std::string values;
    params.clear();
    auto insert = [&]() -> result<void> {
      if (values.empty()) return {};
      std::string cols, updates;
      for (const auto& c : columns) {
        cols += (cols.empty() ? "" : ",") + quote_ident(c);
        if (std::find(pk_.begin(), pk_.end(), c) == pk_.end())
          updates += (updates.empty() ? "" : ",") + quote_ident(c) + "=EXCLUDED." + quote_ident(c);
      }
      std::string q = "INSERT INTO " + table_ + " (" + cols + ") VALUES " + values;
      if (upsert_ && !pk_.empty()) {
        std::string keys;
        for (const auto& k : pk_)
          keys += (keys.empty() ? "" : ",") + quote_ident(k);
        q += " ON CONFLICT (" + keys + ") DO " +
             (updates.empty() ? "NOTHING" : "UPDATE SET " + updates);
      }
      auto r = exec_params(q, params);
      values.clear();
      params.clear();
      return r;
    };
    for (const auto& ch : changes) {
      if (!ch.row) continue;
      simdjson::dom::object row;
      if (parser.parse(*ch.row).get(row))
        return make_error(errc::invalid_argument,
                          "a row that is not a JSON object: " + ch.row->substr(0, 100));
      std::vector<std::string> names;
      for (auto [k, v] : row)
        names.emplace_back(k);
      if (names != columns || params.size() + names.size() > 30'000) {
        if (auto r = insert(); !r) return r;
        columns = std::move(names);
        if (create_ && !created_)
          if (auto r = create_table(row); !r) return r;
      }
      values += values.empty() ? "(" : ",(";
      size_t i = 0;
      for (auto [k, v] : row) {
        params.push_back(as_param(v));
        values += (i++ ? ",$" : "$") + std::to_string(params.size());
      }
      values += ")";
    }
    return insert();
  }

  result<void> create_table(simdjson::dom::object row) {
    std::string cols;
    for (auto [k, v] : row)
      cols += (cols.empty() ? "" : ", ") + quote_ident(k) + " " + sql_type(v);
    if (!pk_.empty()) {
      cols += ", PRIMARY KEY (";
      for (size_t i = 0; i < pk_.size(); ++i)
        cols += (i ? "," : "") + quote_ident(pk_[i]);
      cols += ")";
    }
    if (auto r = exec("CREATE TABLE IF NOT EXISTS " + table_ + " (" + cols + ")"); !r) return r;
    created_ = true;
    return {};
  }

  // A record's key values in pk.fields order: from the row when there is one, else from the key.
  result<std::vector<std::optional<std::string>>> key_of(const sink_record& r,
                                                         simdjson::dom::parser& parser) {
    std::vector<std::optional<std::string>> out;
    simdjson::dom::element doc;
    auto from_object = [&](simdjson::dom::object o) -> bool {
      for (const auto& k : pk_) {
        simdjson::dom::element v;
        if (o[k].get(v)) return false;
        out.push_back(as_param(v));
      }
      return true;
    };
    if (r.value && !parser.parse(*r.value).get(doc) && doc.is_object() &&
        from_object(doc.get_object().value()))
      return out;
    out.clear();
    if (!r.key)
      return make_error(errc::invalid_argument, "a record of " + r.topic + " at " +
                                                    std::to_string(r.offset) +
                                                    " has no key to match pk.fields by");
    if (!parser.parse(*r.key).get(doc)) {
      if (doc.is_object() && from_object(doc.get_object().value())) return out;
      out.clear();
      simdjson::dom::array a;
      if (!doc.get(a) && a.size() == pk_.size()) {
        for (auto v : a)
          out.push_back(as_param(v));
        return out;
      }
    }
    if (pk_.size() == 1) return std::vector<std::optional<std::string>>{*r.key};
    return make_error(errc::invalid_argument, "the key of a record of " + r.topic + " at " +
                                                  std::to_string(r.offset) +
                                                  " does not hold pk.fields");
  }

  result<void> connect() {
    conn_.reset(PQconnectdb(pg::connection_string(c_).c_str()));
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      auto e = pg::failure("postgres-sink", "connecting", conn_.get());
      conn_.reset();
      return e;
    }
    return {};
  }

  result<void> exec(const std::string& q) { return exec_params(q, {}); }

  result<void> exec_params(const std::string& q,
                           const std::vector<std::optional<std::string>>& params) {
    std::vector<const char*> values;
    for (const auto& p : params)
      values.push_back(p ? p->c_str() : nullptr);
    pg::result_ptr res(PQexecParams(conn_.get(), q.c_str(), static_cast<int>(values.size()),
                                    nullptr, values.data(), nullptr, nullptr, 0));
    auto st = PQresultStatus(res.get());
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return {};
    bool broken = PQstatus(conn_.get()) != CONNECTION_OK;
    auto e = pg::failure("postgres-sink " + table_, q.substr(0, q.find(' ', 12)), conn_.get());
    if (broken) {
      conn_.reset();
      e.code = errc::io_error;
    } else {
      e.code = errc::invalid_argument;  // the statement's fault (a type, a constraint)
    }
    return e;
  }

  config c_;
  std::string table_;
  std::vector<std::string> pk_;
  bool upsert_ = true, create_ = false, created_ = false;
  pg::conn_ptr conn_;
};

}  // namespace

kind postgres_sink_kind() {
  kind k;
  k.name = "postgres-sink";
  k.type = connector_type::sink;
  k.classes = {"sluice.connect.PostgresSink", "io.confluent.connect.jdbc.JdbcSinkConnector"};
  k.version = "1";
  k.validate = [](const config& c) -> result<void> {
    if (auto r = required(c, "table.name"); !r) return r.error();
    auto mode = setting(c, "insert.mode", "upsert");
    if (mode != "upsert" && mode != "insert")
      return make_error(errc::invalid_argument,
                        "'insert.mode' must be 'upsert' or 'insert', not '" + mode + "'");
    if (mode == "upsert" && setting(c, "pk.fields").empty())
      return make_error(errc::invalid_argument, "insert.mode 'upsert' needs 'pk.fields'");
    return pg::validate_connection(c);
  };
  k.make_sink = [](const config& c) { return std::make_unique<table_sink>(c); };
  return k;
}

}  // namespace sluice::connect
