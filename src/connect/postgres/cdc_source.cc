#include "connect/postgres/cdc_source.h"

#include <libpq-fe.h>
#include <poll.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <map>

#include "base/clock.h"
#include "base/json_writer.h"
#include "connect/postgres/connection.h"
#include "connect/postgres/pgoutput.h"

namespace sluice::connect {

namespace {

using pg::lsn_t;

constexpr std::string_view k_unavailable = "__debezium_unavailable_value";

using pg::conn_ptr;
using pg::quote_ident;
using pg::quote_literal;
using pg::result_ptr;

// A column's text value as JSON, by its type.
void write_value(json_writer& w, uint32_t oid, std::string_view text) {
  switch (oid) {
    case 16:  // bool
      w.value(text == "t");
      return;
    case 20:
    case 21:
    case 23:
    case 26:  // int8, int2, int4, oid
      w.raw(text);
      return;
    case 700:
    case 701:
    case 1700:  // float4, float8, numeric
      if (text == "NaN" || text == "Infinity" || text == "-Infinity")
        w.value(text);
      else
        w.raw(text);
      return;
    case 114:
    case 3802:  // json, jsonb
      w.raw(text);
      return;
    default:
      w.value(text);
  }
}

struct table_info {
  std::string schema, table;
  std::vector<pg::column> columns;
};

class cdc_source final : public source_task {
 public:
  explicit cdc_source(const config& c) : c_(c) {}
  ~cdc_source() override { stop(); }

  result<void> start(const std::map<std::string, std::string>& offsets) override {
    prefix_ = setting(c_, "topic.prefix");
    slot_ = setting(c_, "slot.name", "sluice");
    publication_ = setting(c_, "publication.name", "sluice_publication");
    heartbeat_ms_ = integer_or(c_, "heartbeat.interval.ms", 10'000);
    partition_ = "{\"server\":" + json_string(prefix_) + "}";
    std::string stored_lsn;
    bool snapshot_done = false;
    if (auto it = offsets.find(partition_); it != offsets.end()) {
      simdjson::dom::parser p;
      simdjson::dom::object o;
      if (!p.parse(it->second).get(o)) {
        std::string_view l;
        if (!o["lsn"].get(l)) stored_lsn = std::string(l);
        bool done = false;
        if (!o["snapshot_done"].get(done)) snapshot_done = done;
      }
    }
    auto conninfo = pg::connection_string(c_);
    sql_.reset(PQconnectdb(conninfo.c_str()));
    if (PQstatus(sql_.get()) != CONNECTION_OK) return failure("connecting", sql_.get());
    dbname_ = PQdb(sql_.get());
    auto wal = query("SHOW wal_level");
    if (!wal) return wal.error();
    if (PQgetvalue(wal->get(), 0, 0) != std::string("logical"))
      return make_error(errc::invalid_argument,
                        std::string("PostgreSQL's wal_level is ") + PQgetvalue(wal->get(), 0, 0) +
                            ": set wal_level = logical in postgresql.conf and restart it");
    if (auto r = ensure_publication(); !r) return r;
    repl_.reset(PQconnectdb((conninfo + " replication=database").c_str()));
    if (PQstatus(repl_.get()) != CONNECTION_OK)
      return failure("connecting for replication", repl_.get());
    auto slot = query("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = " +
                      quote_literal(slot_));
    if (!slot) return slot.error();
    bool slot_exists = PQntuples(slot->get()) > 0;
    bool snapshot = setting(c_, "snapshot.mode", "initial") == "initial" && !snapshot_done;
    if (snapshot) {
      // A snapshot the slot starts exactly after: a slot left by an unfinished one goes.
      if (slot_exists)
        if (auto r = query("SELECT pg_drop_replication_slot(" + quote_literal(slot_) + ")"); !r)
          return r.error();
      result_ptr made(PQexec(repl_.get(), ("CREATE_REPLICATION_SLOT " + quote_ident(slot_) +
                                           " LOGICAL pgoutput EXPORT_SNAPSHOT")
                                              .c_str()));
      if (PQresultStatus(made.get()) != PGRES_TUPLES_OK)
        return failure("creating the replication slot", repl_.get());
      auto point = pg::parse_lsn(PQgetvalue(made.get(), 0, 1));
      std::string snapshot_name = PQgetvalue(made.get(), 0, 2);
      start_lsn_ = point.value_or(0);
      for (const char* q : {"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"})
        if (auto r = query(q); !r) return r.error();
      if (auto r = query("SET TRANSACTION SNAPSHOT " + quote_literal(snapshot_name)); !r)
        return r.error();
      auto tables =
          query("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = " +
                quote_literal(publication_) + " ORDER BY 1, 2");
      if (!tables) return tables.error();
      for (int i = 0; i < PQntuples(tables->get()); ++i)
        pending_tables_.emplace_back(PQgetvalue(tables->get(), i, 0),
                                     PQgetvalue(tables->get(), i, 1));
      snapshotting_ = true;
      spdlog::info("postgres-cdc {}: snapshot of {} tables at {}", prefix_, pending_tables_.size(),
                   pg::format_lsn(start_lsn_));
      return {};
    }
    if (!slot_exists) {
      result_ptr made(PQexec(repl_.get(), ("CREATE_REPLICATION_SLOT " + quote_ident(slot_) +
                                           " LOGICAL pgoutput NOEXPORT_SNAPSHOT")
                                              .c_str()));
      if (PQresultStatus(made.get()) != PGRES_TUPLES_OK)
        return failure("creating the replication slot", repl_.get());
    }
    start_lsn_ = pg::parse_lsn(stored_lsn).value_or(0);
    return stream();
  }

  result<void> poll(std::vector<source_record>& out, std::chrono::milliseconds wait) override {
    if (snapshotting_) return snapshot_step(out);
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      if (auto r = send_status(false); !r) return r;
      char* buf = nullptr;
      int n = PQgetCopyData(repl_.get(), &buf, 1);
      if (n > 0) {
        std::string_view data(buf, static_cast<size_t>(n));
        auto r = handle(data, out);
        PQfreemem(buf);
        if (!r) return r;
        if (out.size() >= 10'000) return {};
        continue;
      }
      if (n == -1) return make_error(errc::io_error, "PostgreSQL ended the replication stream");
      if (n == -2) return failure("reading the replication stream", repl_.get());
      if (!out.empty()) return {};
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return {};
      pollfd p{PQsocket(repl_.get()), POLLIN, 0};
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, ms))) > 0 &&
          !PQconsumeInput(repl_.get()))
        return failure("reading the replication stream", repl_.get());
    }
  }

  result<void> commit(const std::map<std::string, std::string>& offsets) override {
    auto it = offsets.find(partition_);
    if (it == offsets.end()) return {};
    simdjson::dom::parser p;
    std::string_view l;
    if (p.parse(it->second)["lsn"].get(l)) return {};
    if (auto lsn = pg::parse_lsn(l); lsn && *lsn > durable_) durable_ = *lsn;
    if (repl_ && streaming_) return send_status(true);
    return {};
  }

  void stop() override {
    repl_.reset();
    sql_.reset();
  }

 private:
  static std::string json_string(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
  }

  error_info failure(const std::string& doing, PGconn* c) const {
    return pg::failure("postgres-cdc " + prefix_, doing, c);
  }

  result<result_ptr> query(const std::string& q) {
    result_ptr r(PQexec(sql_.get(), q.c_str()));
    auto st = PQresultStatus(r.get());
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return failure(q, sql_.get());
    return r;
  }

  result<void> ensure_publication() {
    auto exists =
        query("SELECT 1 FROM pg_publication WHERE pubname = " + quote_literal(publication_));
    if (!exists) return exists.error();
    if (PQntuples(exists->get()) > 0) return {};
    std::string what = "FOR ALL TABLES";
    auto tables = list_setting(c_, "table.include.list");
    for (size_t i = 0; i < tables.size(); ++i)
      what = (i ? what + ", " : std::string("FOR TABLE ")) + pg::quote_table(tables[i]);
    if (auto r = query("CREATE PUBLICATION " + quote_ident(publication_) + " " + what); !r)
      return r.error();
    spdlog::info("postgres-cdc {}: publication {} created {}", prefix_, publication_, what);
    return {};
  }

  result<void> stream() {
    std::string cmd = "START_REPLICATION SLOT " + quote_ident(slot_) + " LOGICAL " +
                      pg::format_lsn(start_lsn_) + " (proto_version '1', publication_names " +
                      quote_literal(quote_ident(publication_)) + ")";
    result_ptr r(PQexec(repl_.get(), cmd.c_str()));
    if (PQresultStatus(r.get()) != PGRES_COPY_BOTH)
      return failure("starting replication", repl_.get());
    streaming_ = true;
    durable_ = std::max(durable_, start_lsn_);
    spdlog::info("postgres-cdc {}: streaming from slot {} at {}", prefix_, slot_,
                 pg::format_lsn(start_lsn_));
    return {};
  }

  // Tells PostgreSQL what is durable: when it moved, when asked for, and every heartbeat.
  result<void> send_status(bool now) {
    if (!streaming_) return {};
    int64_t t = now_ms();
    if (!now && durable_ == confirmed_ && t - last_status_ms_ < heartbeat_ms_) return {};
    auto msg = pg::standby_status(durable_, durable_, pg::unix_ms_to_pg_time(t));
    if (PQputCopyData(repl_.get(), msg.data(), static_cast<int>(msg.size())) != 1 ||
        PQflush(repl_.get()) != 0)
      return failure("confirming the position", repl_.get());
    confirmed_ = durable_;
    last_status_ms_ = t;
    return {};
  }

  std::string offset(lsn_t lsn, bool snapshot_done = true) const {
    json_writer w;
    w.begin_object().key("lsn").value(pg::format_lsn(lsn));
    w.key("snapshot_done").value(snapshot_done).end_object();
    return std::move(w).str();
  }

  result<void> handle(std::string_view data, std::vector<source_record>& out) {
    auto msg = pg::decode_copy_data(data);
    if (!msg) return msg.error();
    if (auto* k = std::get_if<pg::keepalive>(&*msg)) {
      // Idle (nothing of ours in flight): the slot may move to the server's WAL end.
      if (!in_txn_ && k->wal_end > handed_ && durable_ >= handed_) {
        source_record r;
        r.source_partition = partition_;
        r.source_offset = offset(k->wal_end);
        handed_ = k->wal_end;
        out.push_back(std::move(r));
      }
      if (k->reply_requested) return send_status(true);
      return {};
    }
    auto& x = std::get<pg::xlog_data>(*msg);
    auto m = pg::decode(x.payload);
    if (!m) return m.error();
    return std::visit(
        [&](auto& v) -> result<void> {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, pg::begin_msg>) {
            in_txn_ = true;
            txn_ = v;
            txn_records_.clear();
          } else if constexpr (std::is_same_v<T, pg::commit_msg>) {
            in_txn_ = false;
            if (v.end_lsn > handed_) {
              // The last record carries the commit's position (an empty one if it had none).
              if (txn_records_.empty() || !txn_records_.back().source_partition.empty())
                txn_records_.emplace_back();
              txn_records_.back().source_partition = partition_;
              txn_records_.back().source_offset = offset(v.end_lsn);
              handed_ = v.end_lsn;
            }
            for (auto& r : txn_records_)
              out.push_back(std::move(r));
            txn_records_.clear();
          } else if constexpr (std::is_same_v<T, pg::relation>) {
            relations_[v.oid] = v;
          } else if constexpr (std::is_same_v<T, pg::insert_msg>) {
            return change(v.relation, nullptr, false, &v.after, "c");
          } else if constexpr (std::is_same_v<T, pg::update_msg>) {
            return change(v.relation, v.before ? &*v.before : nullptr, v.before_is_key, &v.after,
                          "u");
          } else if constexpr (std::is_same_v<T, pg::delete_msg>) {
            return change(v.relation, &v.before, v.before_is_key, nullptr, "d");
          }
          return {};
        },
        *m);
  }

  // One change of the open transaction: its record (and a tombstone after a delete).
  result<void> change(uint32_t oid, const pg::tuple* before, bool before_is_key,
                      const pg::tuple* after, const char* op) {
    auto rel = relations_.find(oid);
    if (rel == relations_.end())
      return make_error(errc::corrupt_batch, "postgres-cdc: a change of relation " +
                                                 std::to_string(oid) + " before its description");
    const auto& r = rel->second;
    auto row = [&](const pg::tuple& t, const pg::tuple* old, bool keys_only) {
      json_writer w;
      w.begin_object();
      for (size_t i = 0; i < r.columns.size() && i < t.size(); ++i) {
        const auto& c = r.columns[i];
        if (keys_only && !c.key) continue;
        w.key(c.name);
        const auto* d = &t[i];
        if (d->k == pg::datum::kind::unchanged_toast && old && i < old->size() &&
            (*old)[i].k == pg::datum::kind::text)
          d = &(*old)[i];
        if (d->k == pg::datum::kind::null)
          w.null();
        else if (d->k == pg::datum::kind::unchanged_toast)
          w.value(k_unavailable);
        else
          write_value(w, c.type_oid, d->text);
      }
      w.end_object();
      return std::move(w).str();
    };
    const pg::tuple* keyed = after ? after : before;
    bool has_key = false;
    for (const auto& c : r.columns)
      has_key |= c.key;
    std::optional<std::string> key;
    if (has_key) key = row(*keyed, nullptr, true);
    json_writer w;
    w.begin_object().key("before");
    if (before && !before_is_key)
      w.raw(row(*before, nullptr, false));
    else if (before)
      w.raw(row(*before, nullptr, true));  // only the key is known (REPLICA IDENTITY DEFAULT)
    else
      w.null();
    w.key("after");
    if (after)
      w.raw(row(*after, before && !before_is_key ? before : nullptr, false));
    else
      w.null();
    write_source(w, r.schema, r.table, pg::pg_time_to_unix_ms(txn_.commit_time), "false", txn_.xid,
                 txn_.final_lsn);
    w.key("op").value(op).key("ts_ms").value(now_ms()).end_object();
    source_record rec;
    rec.topic = prefix_ + "." + r.schema + "." + r.table;
    rec.key = key;
    rec.value = std::move(w).str();
    rec.timestamp = pg::pg_time_to_unix_ms(txn_.commit_time);
    if (after) {
      txn_records_.push_back(std::move(rec));
    } else {  // the delete, then a tombstone for compaction
      txn_records_.push_back(rec);
      rec.value.reset();
      txn_records_.push_back(std::move(rec));
    }
    return {};
  }

  void write_source(json_writer& w, const std::string& schema, const std::string& table,
                    int64_t ts_ms, std::string_view snapshot, uint32_t xid, lsn_t lsn) const {
    w.key("source").begin_object();
    w.key("version").value("sluice").key("connector").value("postgresql");
    w.key("name").value(prefix_).key("ts_ms").value(ts_ms).key("snapshot").value(snapshot);
    w.key("db").value(dbname_).key("schema").value(schema).key("table").value(table);
    w.key("txId").value(static_cast<int64_t>(xid)).key("lsn").value(static_cast<int64_t>(lsn));
    w.end_object();
  }

  // The snapshot, a batch of rows at a time through a cursor; then streaming starts.
  result<void> snapshot_step(std::vector<source_record>& out) {
    if (!cursor_open_) {
      if (pending_tables_.empty()) {
        if (auto r = query("COMMIT"); !r) return r.error();
        snapshotting_ = false;
        source_record done;  // the snapshot is complete: stored, it is not taken again
        done.source_partition = partition_;
        done.source_offset = offset(start_lsn_, true);
        handed_ = start_lsn_;
        out.push_back(std::move(done));
        spdlog::info("postgres-cdc {}: snapshot done ({} rows)", prefix_, snapshot_rows_);
        return stream();
      }
      current_ = table_info{pending_tables_.front().first, pending_tables_.front().second, {}};
      pending_tables_.pop_front();
      std::string name = quote_ident(current_.schema) + "." + quote_ident(current_.table);
      auto keys = query(
          "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
          "a.attnum = ANY(i.indkey) WHERE i.indisprimary AND i.indrelid = " +
          quote_literal(name) + "::regclass");
      if (!keys) return keys.error();
      key_names_.clear();
      for (int i = 0; i < PQntuples(keys->get()); ++i)
        key_names_.emplace_back(PQgetvalue(keys->get(), i, 0));
      if (auto r = query("DECLARE sluice_snapshot NO SCROLL CURSOR FOR SELECT * FROM " + name); !r)
        return r.error();
      cursor_open_ = true;
    }
    auto rows = query("FETCH 5000 FROM sluice_snapshot");
    if (!rows) return rows.error();
    auto* res = rows->get();
    int n = PQntuples(res);
    int cols = PQnfields(res);
    int64_t ts = now_ms();
    for (int i = 0; i < n; ++i) {
      json_writer key, after;
      key.begin_object();
      after.begin_object();
      for (int c = 0; c < cols; ++c) {
        std::string name = PQfname(res, c);
        bool is_key = std::find(key_names_.begin(), key_names_.end(), name) != key_names_.end();
        for (auto* w : {&after, is_key ? &key : nullptr}) {
          if (!w) continue;
          w->key(name);
          if (PQgetisnull(res, i, c))
            w->null();
          else
            write_value(*w, PQftype(res, c),
                        std::string_view(PQgetvalue(res, i, c),
                                         static_cast<size_t>(PQgetlength(res, i, c))));
        }
      }
      key.end_object();
      after.end_object();
      json_writer w;
      w.begin_object().key("before").null().key("after").raw(after.str());
      write_source(w, current_.schema, current_.table, ts, "true", 0, start_lsn_);
      w.key("op").value("r").key("ts_ms").value(ts).end_object();
      source_record rec;
      rec.topic = prefix_ + "." + current_.schema + "." + current_.table;
      if (!key_names_.empty()) rec.key = std::move(key).str();
      rec.value = std::move(w).str();
      rec.timestamp = ts;
      out.push_back(std::move(rec));
    }
    snapshot_rows_ += static_cast<uint64_t>(n);
    if (n < 5000) {
      if (auto r = query("CLOSE sluice_snapshot"); !r) return r.error();
      cursor_open_ = false;
    }
    return {};
  }

  config c_;
  std::string prefix_, slot_, publication_, partition_, dbname_;
  int64_t heartbeat_ms_ = 10'000;
  conn_ptr sql_, repl_;
  bool streaming_ = false;
  lsn_t start_lsn_ = 0;
  lsn_t handed_ = 0;     // the newest position handed to the runtime
  lsn_t durable_ = 0;    // the newest position the runtime said is durable
  lsn_t confirmed_ = 0;  // the newest position told to PostgreSQL
  int64_t last_status_ms_ = 0;
  std::map<uint32_t, pg::relation> relations_;
  bool in_txn_ = false;
  pg::begin_msg txn_;
  std::vector<source_record> txn_records_;
  // The snapshot.
  bool snapshotting_ = false, cursor_open_ = false;
  std::deque<std::pair<std::string, std::string>> pending_tables_;
  table_info current_;
  std::vector<std::string> key_names_;
  uint64_t snapshot_rows_ = 0;
};

}  // namespace

kind postgres_cdc_kind() {
  kind k;
  k.name = "postgres-cdc";
  k.type = connector_type::source;
  k.classes = {"io.debezium.connector.postgresql.PostgresConnector"};
  k.version = "1";
  k.validate = [](const config& c) -> result<void> {
    if (auto r = required(c, "topic.prefix"); !r) return r.error();
    auto mode = setting(c, "snapshot.mode", "initial");
    if (mode != "initial" && mode != "never")
      return make_error(errc::invalid_argument,
                        "'snapshot.mode' must be 'initial' or 'never', not '" + mode + "'");
    if (auto r = integer_setting(c, "heartbeat.interval.ms", 10'000, 100, 3'600'000); !r)
      return r.error();
    if (auto r = pg::validate_connection(c); !r) return r.error();
    return {};
  };
  k.make_source = [](const config& c) { return std::make_unique<cdc_source>(c); };
  return k;
}

}  // namespace sluice::connect
