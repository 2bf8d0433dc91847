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
    // The last change of each key (rows without a key, in insert mode, all of them), each row
    // read from its JSON once.
    std::map<key_values, size_t> by_key;
    std::vector<change> changes;
    simdjson::dom::parser parser;
    for (const auto& r : records) {
      change ch;
      if (r.value) {
        simdjson::dom::object row;
        if (parser.parse(*r.value).get(row))
          return make_error(errc::invalid_argument,
                            "a row that is not a JSON object: " + r.value->substr(0, 100));
        ch.upsert = true;
        for (auto [k, v] : row) {
          ch.columns.emplace_back(k);
          ch.values.push_back(as_param(v));
          if (create_ && !created_) ch.types.push_back(sql_type(v));
        }
        if (!pk_.empty() && !key_from_row(row, ch.key)) ch.key.clear();
      } else if (pk_.empty()) {
        continue;  // a delete without pk.fields: nothing to match it by
      }
      if (!pk_.empty()) {
        if (ch.key.empty()) {
          auto k = key_from_record_key(r, parser);
          if (!k) return k.error();
          ch.key = std::move(*k);
        }
        auto [it, fresh] = by_key.emplace(ch.key, changes.size());
        if (!fresh) {
          changes[it->second] = std::move(ch);
          continue;
        }
      }
      changes.push_back(std::move(ch));
    }
    if (changes.empty()) return {};
    if (auto r = exec("BEGIN"); !r) return r;
    auto r = apply(changes);
    if (!r) {
      (void)exec("ROLLBACK");
      return r;
    }
    return exec("COMMIT");
  }

  result<void> flush() override { return {}; }  // put() commits
  void stop() override { conn_.reset(); }

 private:
  using key_values = std::vector<std::optional<std::string>>;  // in pk.fields order
  struct change {
    bool upsert = false;               // a row; else a delete
    std::vector<std::string> columns;  // the row's, in its order
    std::vector<std::optional<std::string>> values;
    std::vector<std::string> types;  // SQL types of the values (auto.create, until created)
    key_values key;
  };

  result<void> apply(const std::vector<change>& changes) {
    // Deletes, as one statement.
    std::vector<std::optional<std::string>> params;
    std::string where;
    for (const auto& ch : changes) {
      if (ch.upsert) continue;
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
    const std::vector<std::string>* columns = nullptr;
    std::string values;
    params.clear();
    auto insert = [&]() -> result<void> {
      if (values.empty()) return {};
      std::string cols, updates;
      for (const auto& c : *columns) {
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
      if (!ch.upsert) continue;
      if (!columns || ch.columns != *columns || params.size() + ch.values.size() > 30'000) {
        if (auto r = insert(); !r) return r;
        columns = &ch.columns;
        if (create_ && !created_)
          if (auto r = create_table(ch); !r) return r;
      }
      values += values.empty() ? "(" : ",(";
      for (size_t i = 0; i < ch.values.size(); ++i) {
        params.push_back(ch.values[i]);
        values += (i ? ",$" : "$") + std::to_string(params.size());
      }
      values += ")";
    }
    return insert();
  }

  result<void> create_table(const change& row) {
    std::string cols;
    for (size_t i = 0; i < row.columns.size(); ++i)
      cols += (cols.empty() ? "" : ", ") + quote_ident(row.columns[i]) + " " + row.types[i];
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

  // The key's values from an object holding every pk.fields member (a row, a JSON key).
  bool key_from_row(simdjson::dom::object o, key_values& out) const {
    out.clear();
    for (const auto& k : pk_) {
      simdjson::dom::element v;
      if (o[k].get(v)) return false;
      out.push_back(as_param(v));
    }
    return true;
  }

  // A delete's key (or a row's without its key columns) from the record key: a JSON object of
  // the key columns, a JSON array in pk.fields order, or the bare value of a one-column key.
  result<key_values> key_from_record_key(const sink_record& r, simdjson::dom::parser& parser) {
    if (!r.key)
      return make_error(errc::invalid_argument, "a record of " + r.topic + " at " +
                                                    std::to_string(r.offset) +
                                                    " has no key to match pk.fields by");
    key_values out;
    simdjson::dom::element doc;
    if (!parser.parse(*r.key).get(doc)) {
      simdjson::dom::object o;
      if (!doc.get(o) && key_from_row(o, out)) return out;
      simdjson::dom::array a;
      if (!doc.get(a) && a.size() == pk_.size()) {
        out.clear();
        for (auto v : a)
          out.push_back(as_param(v));
        return out;
      }
    }
    if (pk_.size() == 1) return key_values{*r.key};
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
