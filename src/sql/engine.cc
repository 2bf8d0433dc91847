#include "sql/engine.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <functional>
#include <future>
#include <thread>

#include "base/file.h"
#include "base/json_writer.h"
#include "base/strings.h"
#include "schema/avro_codec.h"
#include "schema/json_schema.h"
#include "schema/protobuf_codec.h"
#include "schema/protobuf_schema.h"
#include "schema/registry.h"
#include "schema/wire_format.h"
#include "sql/connectors.h"
#include "sql/distribution.h"
#include "sql/error.h"
#include "sql/parser.h"
#include "sql/plan/logical_plan.h"
#include "sql/plan/partitioning.h"
#include "sql/planner.h"
#include "stream/query.h"
#include "view/view.h"

namespace sluice::sql {

namespace {

size_t size_property(const properties& with, const std::string& key, size_t dflt) {
  auto it = with.find(key);
  if (it == with.end()) return dflt;
  try {
    long long v = std::stoll(it->second);
    if (v <= 0) throw std::invalid_argument("not positive");
    return static_cast<size_t>(v);
  } catch (const std::exception&) {
    throw catalog_error("property '" + key + "' must be a positive integer, got '" + it->second +
                        "'");
  }
}

// A byte count: digits with an optional unit (KB, MB, GB: powers of 1000; KiB, MiB, GiB).
size_t bytes_property(const properties& with, const std::string& key, size_t dflt) {
  auto it = with.find(key);
  if (it == with.end()) return dflt;
  const std::string& text = it->second;
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  std::string unit = ascii_lower(std::string_view(text).substr(digits));
  std::erase(unit, ' ');
  static const std::pair<const char*, uint64_t> units[] = {{"", 1},
                                                           {"b", 1},
                                                           {"kb", 1'000},
                                                           {"mb", 1'000'000},
                                                           {"gb", 1'000'000'000},
                                                           {"kib", 1ULL << 10},
                                                           {"mib", 1ULL << 20},
                                                           {"gib", 1ULL << 30}};
  for (const auto& [name, factor] : units)
    if (digits > 0 && digits <= 12 && unit == name) {
      uint64_t n = std::stoull(text.substr(0, digits)) * factor;
      if (n > 0) return static_cast<size_t>(n);
    }
  throw catalog_error("property '" + key + "' must be a positive size such as '64MB' or " +
                      "'1GiB', got '" + text + "'");
}

stream::value str(std::string s) {
  return stream::value::string(std::move(s));
}
stream::value num(int64_t i) {
  return stream::value::integer(i);
}

class push_query_impl final : public push_query {
 public:
  push_query_impl(std::unique_ptr<stream::query> q, std::vector<std::string> cols)
      : q_(std::move(q)), cols_(std::move(cols)) {}
  ~push_query_impl() override { q_->stop(false); }
  const std::vector<std::string>& columns() const override { return cols_; }

 private:
  std::unique_ptr<stream::query> q_;
  std::vector<std::string> cols_;
};

}  // namespace

struct engine::impl final : name_lookup, format_provider {
  struct source_entry {
    source_def def;
    std::string text;
  };
  struct view_entry {
    std::shared_ptr<view::view> v;
    std::vector<stream::field_type> cols;
    std::string text;
  };
  struct sink_entry {
    std::string topic;
    std::string text;
    std::vector<std::string> columns;
  };
  struct query_entry {
    std::unique_ptr<stream::running_query> q;
    std::string text;
    std::vector<std::string> inputs;  // source names (lower case)
    std::string output;               // view, sink or stream it writes
  };

  engine_options o;
  std::shared_ptr<stream::topic_io> io;
  // Timed: a task being made for the cluster must not wait for a statement that waits for it.
  std::recursive_timed_mutex mu;
  std::map<std::string, source_entry> sources;  // by lower-case name
  std::map<std::string, view_entry> views;
  std::map<std::string, sink_entry> sinks;
  std::map<std::string, query_entry> queries;
  std::vector<std::pair<std::string, std::string>> catalog;  // (object, statement) in order
  // Sources declared without columns: the schema id their columns come from (catalog.json
  // "schemas"), so that a restart plans every query against the columns it was made with.
  std::map<std::string, int32_t> pins;
  int push_seq = 0;
  // Cluster mode: the position in the catalog log of the statement being applied, the last
  // one applied, and what came of statements this process appended (by position).
  int64_t applying = 0;
  int64_t applied = -1;
  std::map<int64_t, std::pair<std::vector<statement_result>, std::exception_ptr>> outcomes;
  std::condition_variable_any applied_cv;
  bool replaying = false;
  connector_host* connectors = nullptr;

  std::filesystem::path sql_dir() const { return o.data_dir / "_sql"; }
  std::filesystem::path checkpoint_dir() const { return sql_dir() / "checkpoints"; }
  std::filesystem::path state_dir(const std::string& query) const {
    return sql_dir() / "state" / ascii_lower(query);
  }
  plan_options planning() const {
    plan_options po;
    po.state_cache_rows = o.state_cache_rows;
    return po;
  }

  const source_def* find_source(const std::string& name) const override {
    auto it = sources.find(ascii_lower(name));
    return it == sources.end() ? nullptr : &it->second.def;
  }
  const std::vector<stream::field_type>* find_view(const std::string& name) const override {
    auto it = views.find(ascii_lower(name));
    return it == views.end() ? nullptr : &it->second.cols;
  }

  void check_free(const std::string& name, location loc) const {
    auto n = ascii_lower(name);
    if (sources.count(n) || views.count(n) || sinks.count(n) || queries.count(n))
      throw sql_error(loc, "'" + name + "' already exists");
  }

  bool exists(const std::string& name) const {
    auto n = ascii_lower(name);
    return sources.count(n) || views.count(n) || sinks.count(n) || queries.count(n);
  }

  // --- durability ------------------------------------------------------------------

  void save() {
    if (replaying || o.cluster) return;
    json_writer w;
    w.begin_object().key("version").value(int64_t{1}).key("statements").begin_array();
    for (const auto& [object, text] : catalog)
      w.value(text);
    w.end_array().key("schemas").begin_object();
    for (const auto& [name, id] : pins)
      w.key(name).value(static_cast<int64_t>(id));
    w.end_object().end_object();
    std::string out = std::move(w).str() + "\n";
    auto r = write_file_atomic(sql_dir() / "catalog.json", as_bytes(out));
    // A server error (HTTP 500), not a wrong statement.
    if (!r) throw std::runtime_error("cannot save the catalog: " + r.error().message);
  }

  // A statement takes effect only with the catalog written: when the file cannot be, `undo`
  // takes back what the statement did in memory and the error goes to the caller.
  void remember(const std::string& object, const std::string& text,
                const std::function<void()>& undo) {
    catalog.emplace_back(ascii_lower(object), text);
    try {
      save();
    } catch (...) {
      catalog.pop_back();
      undo();
      throw;
    }
  }

  // Writes the catalog without `object`: call before undoing the object, which stays when the
  // file cannot be written.
  void forget(const std::string& object) {
    auto n = ascii_lower(object);
    auto before = catalog;
    std::erase_if(catalog, [&](const auto& e) { return e.first == n; });
    try {
      save();
    } catch (...) {
      catalog = std::move(before);
      throw;
    }
  }

  // Stops a query and deletes its checkpoint and state (in cluster mode, a query created again
  // is another instance, with checkpoints of its own).
  void discard_query(const std::string& name) {
    auto it = queries.find(ascii_lower(name));
    if (it == queries.end()) return;
    it->second.q->stop(false);
    if (o.cluster) {
      queries.erase(it);
      return;
    }
    std::error_code ec;
    std::filesystem::remove(checkpoint_dir() / (it->first + ".ckpt"), ec);
    std::filesystem::remove_all(state_dir(it->first), ec);
    queries.erase(it);
  }

  // --- queries ---------------------------------------------------------------------

  // `with`: the statement's properties (max_state_bytes).
  std::unique_ptr<stream::query> build(const std::string& name, plan& p, stream::operator_ptr sink,
                                       const properties* with = nullptr) {
    auto qo = options_for(name, p, std::move(sink), with);
    qo.checkpoints =
        stream::make_file_checkpoints(checkpoint_dir() / (ascii_lower(name) + ".ckpt"));
    return std::make_unique<stream::query>(*io, std::move(qo));
  }

  stream::query_options options_for(const std::string& name, plan& p, stream::operator_ptr sink,
                                    const properties* with) {
    stream::query_options qo;
    qo.max_state_bytes =
        with ? bytes_property(*with, "max_state_bytes", o.max_state_bytes) : o.max_state_bytes;
    qo.name = name;
    qo.flow = std::move(p.flow);
    qo.flow.connect(qo.flow.output, qo.flow.add(std::move(sink)));
    qo.dead_letter_topic = name + ".dlq";
    qo.state_dir = state_dir(name);
    qo.checkpoint_interval = o.checkpoint_interval;
    qo.read_alignment_ms = o.read_alignment_ms;
    return qo;
  }

  // The sink of one instance of a query: `task` is the task of the cluster it is for (its
  // transactional id), null when the query runs whole here.
  using sink_maker = std::function<stream::operator_ptr(plan&, const task_spec*)>;

  // The writer of CREATE SINK `s`: its rows encoded as its format says into its topic.
  sink_maker sink_writer(const create_sink_stmt& s, location loc) {
    return [this, name = s.name, topic = s.topic, with = s.with, loc,
            options = sink_options_for(s.name, &s.with, loc)](plan& p, const task_spec* t) {
      auto encoder = sink_encoder(name, topic, p, with, loc);
      auto key_encoder = sink_encoder(name, topic, p, with, loc, true);
      return stream::make_topic_writer(open_topic(topic, options, t), p.names, p.key_names, topic,
                                       std::move(encoder), std::move(key_encoder));
    };
  }

  // Opens `topic` for a query's sink (creating it); a task of the cluster writes under its own
  // transactional id. Throws catalog_error.
  std::unique_ptr<stream::topic_sink> open_topic(const std::string& topic,
                                                 stream::sink_options options,
                                                 const task_spec* task = nullptr) {
    if (task) options.transactional_id = task->transactional_id;
    auto out = io->open_sink(topic, options);
    if (!out) throw catalog_error("cannot open topic '" + topic + "': " + out.error().message);
    return std::move(*out);
  }

  // The SELECT of a statement that has one (a view's, a sink's, INSERT INTO's); null for others.
  static const select_stmt* select_of(const statement& st) {
    const select_stmt* q = nullptr;
    std::visit(
        [&](const auto& b) {
          using T = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<T, create_view_stmt> ||
                        std::is_same_v<T, create_sink_stmt> || std::is_same_v<T, insert_stmt> ||
                        std::is_same_v<T, query_stmt>)
            q = b.query.get();
        },
        st.body);
    return q;
  }
  static const select_stmt& query_of(const statement& st) {
    const select_stmt* q = select_of(st);
    if (!q) throw catalog_error("not a continuous query: " + st.text);
    return *q;
  }
  static const properties* with_of(const statement& st) {
    if (const auto* v = std::get_if<create_view_stmt>(&st.body)) return &v->with;
    if (const auto* s = std::get_if<create_sink_stmt>(&st.body)) return &s->with;
    return nullptr;
  }

  // Cluster mode: the topics query `st` (planned as `p`) reads. Split by partition, a query
  // is right only when what it groups and joins by follows how the records are keyed
  // (repartitioning is not done yet): throws sql_error otherwise.
  std::vector<std::string> check_split(const statement& st, const plan& p) {
    std::vector<std::string> topics;
    bool split = false;
    for (const auto& in : inputs_of(*p.root)) {
      const auto& t = sources.at(in).def.topic;
      if (std::find(topics.begin(), topics.end(), t) == topics.end()) topics.push_back(t);
      split |= o.cluster->partitions(t) != 1;
    }
    if (auto why = split ? partitioning_problem(*p.root) : std::string(); !why.empty())
      throw sql_error(query_of(st).loc,
                      "in cluster mode each task of a query reads one partition of its "
                      "sources: " +
                          why +
                          ". Key the records by the grouped or joined columns and declare it "
                          "(CREATE STREAM ... WITH (key = 'column')), or give the topics one "
                          "partition");
    return topics;
  }

  // Cluster mode: what a statement can be found wrong with before it goes to the catalog
  // log (where a wrong statement would be kept, failing on every node).
  void precheck(const statement& st) {
    std::lock_guard lk(mu);
    if (const auto* s = std::get_if<create_source_stmt>(&st.body)) {
      if (!s->if_not_exists) check_free(s->name, st.loc);
      make_source_def(*s, st.loc, this);
      return;
    }
    if (const auto* v = std::get_if<create_view_stmt>(&st.body); v && !v->if_not_exists)
      check_free(v->name, st.loc);
    if (const auto* k = std::get_if<create_sink_stmt>(&st.body); k && !k->if_not_exists)
      check_free(k->name, st.loc);
    if (std::holds_alternative<drop_stmt>(st.body)) return;
    const auto& q = query_of(st);
    if (q.emit_changes) return;  // refused when applied, with the statement's own message
    check_split(st, continuous_plan(q, with_of(st), st.loc));
  }

  // Starts query `name` of statement `st` (planned as `p`) writing to `output`: whole in this
  // process, or, in cluster mode, split into tasks that the cluster's processes share (each
  // plans the statement again and makes its own sink).
  void launch(const std::string& name, const statement& st, plan& p, const sink_maker& make_sink,
              const std::string& output) {
    auto inputs = inputs_of(*p.root);
    if (!o.cluster) {
      start(name, build(name, p, make_sink(p, nullptr), with_of(st)), st.text, inputs, output);
      return;
    }
    auto topics = check_split(st, p);
    task_factory make = [this, name, text = st.text, make_sink](
                            task_spec& t,
                            const std::atomic<bool>& cancelled) -> std::unique_ptr<stream::query> {
      std::unique_lock lk(mu, std::defer_lock);
      while (!lk.try_lock_for(std::chrono::milliseconds(50)))
        if (cancelled) return nullptr;
      auto stmts = parse(text);
      const auto& again = stmts.at(0);
      auto tp = continuous_plan(query_of(again), with_of(again), again.loc);
      auto sink = make_sink(tp, &t);
      auto qo = options_for(name, tp, std::move(sink), with_of(again));
      qo.state_dir.clear();  // state travels in the checkpoint, to whichever process runs it
      qo.checkpoints = std::move(t.checkpoints);
      qo.partitions = t.partitions;
      return std::make_unique<stream::query>(*io, std::move(qo));
    };
    start(name,
          o.cluster->distribute(name, ascii_lower(name) + "@" + std::to_string(applying), topics,
                                std::move(make)),
          st.text, inputs, output);
  }

  void start(const std::string& name, std::unique_ptr<stream::running_query> q,
             const std::string& text, const std::vector<std::string>& inputs,
             const std::string& output) {
    if (auto r = q->start(); !r) throw catalog_error("query " + name + ": " + r.error().message);
    queries[ascii_lower(name)] = query_entry{std::move(q), text, inputs, ascii_lower(output)};
  }

  // The streams and tables a plan reads (lower case): its scans, joined sides, IN subqueries
  // and UNION ALL members alike.
  static std::vector<std::string> inputs_of(const logical_node& n) {
    std::vector<std::string> out;
    if (n.k == logical_node::kind::scan && n.view.empty()) out.push_back(ascii_lower(n.name));
    for (const auto& in : n.inputs)
      for (auto& name : inputs_of(*in))
        out.push_back(std::move(name));
    return out;
  }

  // `with`: the statement's properties, of which the planner takes state_ttl.
  plan continuous_plan(const select_stmt& s, const properties* with = nullptr, location loc = {}) {
    auto po = planning();
    if (with)
      if (auto it = with->find("state_ttl"); it != with->end())
        po.state_ttl_ms = parse_duration(it->second, loc, "state_ttl");
    auto p = plan_select(s, *this, po);
    if (!p.view_source.empty())
      throw sql_error(s.from->loc,
                      "a view cannot feed a continuous query yet; read a stream or "
                      "table (a plain SELECT on a view returns its rows)");
    return p;
  }

  // --- formats with a schema registry (format_provider) ---------------------------------

  std::vector<stream::field_type> columns_of(const std::string& format, const std::string& subject,
                                             int32_t& id, location loc) const override {
    if (!o.schemas) throw sql_error(loc, "format '" + format + "' needs the schema registry");
    std::shared_ptr<const schema::parsed_schema> found;
    if (id) {
      found = o.schemas->parsed(id);
      if (!found)
        throw sql_error(loc, "schema " + std::to_string(id) + " of subject '" + subject +
                                 "' is no longer in the registry");
    } else {
      std::tie(found, id) = o.schemas->latest(subject);
    }
    if (format == "JSON_SR") {
      auto js = schema::json_schema_of(found);
      if (!js)
        throw sql_error(loc, "subject '" + subject +
                                 "' has no JSON Schema in the registry: register one, or declare "
                                 "the columns");
      std::string err;
      auto cols = schema::json::columns_of(*js, err);
      if (!cols) throw sql_error(loc, "subject '" + subject + "': " + err);
      return *cols;
    }
    if (format == "PROTOBUF") {
      auto proto = schema::protobuf_of(found);
      if (!proto)
        throw sql_error(loc, "subject '" + subject +
                                 "' has no Protobuf schema in the registry: register one, or "
                                 "declare the columns");
      return schema::columns_of(*proto->message({}));
    }
    auto avro = schema::avro_of(found);
    if (!avro)
      throw sql_error(loc, "subject '" + subject +
                               "' has no Avro schema in the registry: register one, or declare "
                               "the columns");
    std::string err;
    auto cols = schema::columns_of(avro->root(), err);
    if (!cols)
      throw sql_error(loc, "subject '" + subject + "' (schema " + std::to_string(id) + "): " + err);
    return *cols;
  }
  int32_t pinned_schema(const std::string& name) const override {
    auto it = pins.find(ascii_lower(name));
    return it == pins.end() ? 0 : it->second;
  }
  stream::decoder_factory decoder(const std::string& format, int32_t schema_id) const override {
    if (format == "JSON_SR") return schema::json_schema_decoder_factory(o.schemas);
    return format == "PROTOBUF" ? schema::protobuf_decoder_factory(o.schemas)
                                : schema::avro_decoder_factory(o.schemas, schema_id);
  }

  // The encoder of a sink's values WITH (format = .., subject = ..), or of its keys WITH
  // (key_format = .., key_subject = ..): null for JSON; for a registry format the schema of
  // the rows (or of the key's columns) registered under the subject (default <topic>-value,
  // <topic>-key), then Confluent-framed records.
  std::unique_ptr<stream::record_encoder> sink_encoder(const std::string& name,
                                                       const std::string& topic, const plan& p,
                                                       const properties& with, location loc,
                                                       bool key = false) {
    auto f = with.find(key ? "key_format" : "format");
    std::string format = f == with.end() ? "JSON" : ascii_upper(f->second);
    auto sub = with.find(key ? "key_subject" : "subject");
    if (format == "JSON") {
      if (sub != with.end())
        throw sql_error(loc,
                        std::string(key ? "'key_subject'" : "'subject'") +
                            " is for formats with a schema registry (avro, protobuf, json_sr)");
      return nullptr;
    }
    if (format == "JSON_SCHEMA") format = "JSON_SR";
    if (format != "AVRO" && format != "PROTOBUF" && format != "JSON_SR")
      throw sql_error(loc, "format '" + f->second +
                               "' is not supported (json, avro, protobuf and json_sr are)");
    if (!o.schemas) throw sql_error(loc, "format '" + f->second + "' needs the schema registry");
    std::string subject = sub == with.end() ? topic + (key ? "-key" : "-value") : sub->second;
    std::vector<stream::field_type> cols;
    for (size_t i = 0; i < p.names.size(); ++i)
      if (!key ||
          std::find(p.key_names.begin(), p.key_names.end(), p.names[i]) != p.key_names.end())
        cols.push_back({p.names[i], p.types[i]});
    if (key) {
      if (p.key_names.empty())
        throw sql_error(loc, "key_format: this query's rows have no key (it is append-only)");
      // In the order of the key's values.
      std::vector<stream::field_type> ordered;
      for (const auto& k : p.key_names)
        for (const auto& c : cols)
          if (c.name == k) ordered.push_back(c);
      cols = std::move(ordered);
    }
    std::string record = "sluice." + name + (key ? "_key" : "");
    schema::schema_input in;
    if (format == "AVRO") {
      in.text = schema::avro_schema_for(cols, record);
    } else if (format == "PROTOBUF") {
      in.type = schema::schema_type::protobuf;
      in.text = schema::protobuf_schema_for(cols, name + (key ? "_key" : ""));
    } else {
      in.type = schema::schema_type::json;
      in.text = schema::json::json_schema_for(cols, record);
    }
    std::promise<schema::outcome<int32_t>> registered;
    o.schemas->register_schema(subject, in, std::nullopt,
                               [&](schema::outcome<int32_t> r) { registered.set_value(r); });
    auto r = registered.get_future().get();
    if (auto* e = std::get_if<schema::registry_error>(&r))
      throw catalog_error("registering the schema of sink '" + name + "' under subject '" +
                          subject + "': " + e->message);
    int32_t id = std::get<int32_t>(r);
    if (format == "PROTOBUF") return schema::make_protobuf_encoder(id, std::move(cols));
    if (format == "JSON_SR") return schema::make_json_schema_encoder(id, std::move(cols));
    return schema::make_avro_encoder(id, std::move(cols));
  }

  // How a query named `name` writes to its topic: WITH (delivery = 'exactly_once' |
  // 'at_least_once'); exactly-once by default where the io has transactions.
  stream::sink_options sink_options_for(const std::string& name, const properties* with,
                                        location loc) const {
    stream::sink_options o;
    o.mode = io->transactions() ? stream::delivery::exactly_once : stream::delivery::at_least_once;
    if (with) {
      if (auto it = with->find("delivery"); it != with->end()) {
        auto v = ascii_lower(it->second);
        if (v == "exactly_once") {
          if (!io->transactions())
            throw sql_error(loc,
                            "delivery = 'exactly_once' needs transactions, which this "
                            "server has not");
          o.mode = stream::delivery::exactly_once;
        } else if (v == "at_least_once") {
          o.mode = stream::delivery::at_least_once;
        } else {
          throw sql_error(
              loc, "unknown delivery '" + it->second + "' (known: exactly_once, at_least_once)");
        }
      }
    }
    o.transactional_id = "__sluice_sql_" + ascii_lower(name);
    return o;
  }

  // --- schema evolution ------------------------------------------------------------

  uint64_t seen_generation = 0;
  std::map<std::string, int32_t> declined;  // source -> the schema id it did not follow
  std::thread evolver;
  std::mutex evolver_mu;
  std::condition_variable evolver_cv;
  bool evolver_stop = false;

  // Checks the registry once a second (after a change only): see evolve().
  void watch_schemas() {
    std::unique_lock lk(evolver_mu);
    while (!evolver_cv.wait_for(lk, std::chrono::seconds(1), [&] { return evolver_stop; })) {
      uint64_t g = o.schemas->generation();
      if (g == seen_generation) continue;
      seen_generation = g;
      lk.unlock();
      try {
        std::lock_guard elk(mu);
        evolve();
      } catch (const std::exception& e) {
        spdlog::error("sql: following schema changes: {}", e.what());
      }
      lk.lock();
    }
  }

  // A stream declared without columns follows its subject: when a newer version only adds
  // fields (every column stays, with its type), the stream gains them, and every sink and view
  // that reads it restarts from its checkpoint with the new columns (a sink registering its new
  // output schema; a view's rows so far get nulls in them, and its subscribers are told to
  // subscribe again). It does so only when every query reading the stream keeps no state
  // besides a view's rows (scans, filters, projections): stateful operators hold rows and
  // results of the old width, so a stream they read keeps its columns (logged once per schema)
  // until they are re-created. The schema a stream follows is pinned in the catalog, so a
  // restart plans every query with the columns it was made with. REQUIRES: mu held.
  void evolve() {
    for (auto& [key, src] : sources) {
      auto& def = src.def;
      if (!def.schema_id) continue;
      auto latest = o.schemas->latest(def.subject);
      if (!latest.first || latest.second == def.schema_id) continue;
      auto d = declined.find(key);
      if (d != declined.end() && d->second == latest.second) continue;
      auto decline = [&](const std::string& why) {
        declined[key] = latest.second;
        spdlog::info("sql: {} keeps the columns of schema {}: {}", def.name, def.schema_id, why);
      };
      std::vector<stream::field_type> cols;
      int32_t id = latest.second;
      try {
        cols = columns_of(def.format, def.subject, id, {});
      } catch (const std::exception& e) {
        decline(e.what());
        continue;
      }
      bool extends = cols.size() > def.columns.size();
      for (size_t i = 0; extends && i < def.columns.size(); ++i)
        extends = iequals(cols[i].name, def.columns[i].name) &&
                  cols[i].type->to_string() == def.columns[i].type->to_string();
      if (!extends) {
        decline("schema " + std::to_string(id) + " of '" + def.subject +
                "' does not only add fields");
        continue;
      }
      std::vector<std::string> readers;
      std::string blocker;
      for (const auto& [qkey, q] : queries) {
        if (std::find(q.inputs.begin(), q.inputs.end(), key) == q.inputs.end()) continue;
        if (!stateless_reader(qkey)) {
          blocker = qkey;
          break;
        }
        readers.push_back(qkey);
      }
      if (!blocker.empty()) {
        decline("'" + blocker + "' reads it and keeps state; re-create it to see the new fields");
        continue;
      }
      auto old_columns = def.columns;
      int32_t old_id = def.schema_id;
      def.columns = std::move(cols);
      def.schema_id = pins[key] = id;
      def.make_decoder = decoder(def.format, id);
      try {
        save();
      } catch (const std::exception&) {
        def.columns = std::move(old_columns);
        def.schema_id = pins[key] = old_id;
        throw;
      }
      spdlog::info("sql: {} follows schema {} of '{}': {} columns", def.name, id, def.subject,
                   def.columns.size());
      for (const auto& r : readers) {
        try {
          if (sinks.count(r))
            restart_sink(r, sinks.at(r));
          else
            restart_view(r, views.at(r), def.subject, id);
        } catch (const std::exception& e) {
          spdlog::error("sql: {} keeps running with its columns: {}", r, e.what());
        }
      }
    }
  }

  // Whether query `key` is a sink or a view whose plan keeps no state (a view's own rows
  // aside). REQUIRES: mu held.
  bool stateless_reader(const std::string& key) {
    const std::string* text = nullptr;
    if (auto sink = sinks.find(key); sink != sinks.end()) text = &sink->second.text;
    if (auto v = views.find(key); v != views.end()) text = &v->second.text;
    if (!text) return false;
    auto stmts = parse(*text);
    return std::visit(
        [&](const auto& s) {
          using T = std::decay_t<decltype(s)>;
          if constexpr (std::is_same_v<T, create_sink_stmt> || std::is_same_v<T, create_view_stmt>)
            return stateless(*continuous_plan(*s.query, &s.with, stmts[0].loc).root);
          else
            return false;
        },
        stmts.at(0).body);
  }

  static bool stateless(const logical_node& n) {
    using k = logical_node::kind;
    if (n.k != k::scan && n.k != k::filter && n.k != k::project && n.k != k::union_all)
      return false;
    if (n.k == k::scan && n.source.upsert) return false;
    for (const auto& in : n.inputs)
      if (!stateless(*in)) return false;
    return true;
  }

  // REQUIRES: mu held.
  void restart_sink(const std::string& key, sink_entry& sink) {
    auto stmts = parse(sink.text);
    const auto& s = std::get<create_sink_stmt>(stmts.at(0).body);
    auto p = continuous_plan(*s.query, &s.with, stmts[0].loc);
    if (p.names == sink.columns || !stateless(*p.root)) return;
    auto& entry = queries.at(key);
    entry.q->stop(true);  // its checkpoint: the new query resumes from it
    auto names = p.names;
    auto q = build(s.name, p, sink_writer(s, stmts[0].loc)(p, nullptr), &s.with);
    if (auto r = q->start(); !r) throw catalog_error(r.error().message);
    entry.q = std::move(q);
    sink.columns = std::move(names);
    spdlog::info("sql: sink {} restarted with {} columns", s.name, sink.columns.size());
  }

  // A view whose stream gained columns (schema `id` of `subject`): a new view with them takes
  // the old one's rows from the checkpoint, and the old one's subscribers are sent away to
  // subscribe to it. REQUIRES: mu held.
  void restart_view(const std::string& key, view_entry& entry, const std::string& subject,
                    int32_t id) {
    auto stmts = parse(entry.text);
    const auto& s = std::get<create_view_stmt>(stmts.at(0).body);
    auto p = continuous_plan(*s.query, &s.with, stmts[0].loc);
    if (p.names == entry.v->columns() || !stateless(*p.root)) return;
    auto& running = queries.at(key);
    running.q->stop(true);  // its checkpoint: the new query resumes from it
    auto v = make_view(s, p);
    auto q = build(s.name, p, view::make_view_writer(v), &s.with);
    if (auto r = q->start(); !r) throw catalog_error(r.error().message);
    running.q = std::move(q);
    auto old = std::exchange(entry.v, v);
    entry.cols = field_types(p);
    old->end("view '" + s.name + "' has new columns (schema " + std::to_string(id) + " of '" +
             subject + "'): subscribe again");
    spdlog::info("sql: view {} restarted with {} columns", s.name, p.names.size());
  }

  std::shared_ptr<view::view> make_view(const create_view_stmt& s, const plan& p) {
    return std::make_shared<view::view>(
        s.name, p.names, size_property(s.with, "max_rows", 100'000),
        size_property(s.with, "feed_capacity", 10'000),
        // Keyed by the query's key; an aggregate without GROUP BY keys is one row (its key
        // is empty), not a row appended per change.
        !p.key_names.empty() || p.mode == changelog_mode::upsert,
        bytes_property(s.with, "max_bytes", 256ULL << 20));
  }

  static std::vector<stream::field_type> field_types(const plan& p) {
    std::vector<stream::field_type> cols;
    for (size_t i = 0; i < p.names.size(); ++i)
      cols.push_back({p.names[i], p.types[i]});
    return cols;
  }

  // --- cluster mode ----------------------------------------------------------------

  // Whether a statement changes the catalog (in cluster mode it goes through the log).
  static bool changes_catalog(const statement& st) {
    return std::visit(
        [&](const auto& b) {
          using T = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<T, create_source_stmt> ||
                        std::is_same_v<T, create_view_stmt> ||
                        std::is_same_v<T, create_sink_stmt> || std::is_same_v<T, insert_stmt>)
            return true;
          else if constexpr (std::is_same_v<T, query_stmt>)
            return !b.query->into.empty();
          else if constexpr (std::is_same_v<T, drop_stmt>)
            return b.what != "CONNECTOR";
          else
            return false;
        },
        st.body);
  }

  // Applies the statement at `position` of the catalog log (the distribution's thread, or
  // open()); keeps what came of it for the process that appended it.
  void apply(int64_t position, const std::string& text) {
    std::lock_guard lk(mu);
    applying = position;
    std::vector<statement_result> results;
    std::exception_ptr error;
    try {
      for (const auto& st : parse(text))
        results.push_back(run(st));
    } catch (const std::exception& e) {
      error = std::current_exception();
      spdlog::warn("catalog: statement {} `{}` not applied: {}", position, text, e.what());
    }
    outcomes[position] = {std::move(results), error};
    while (outcomes.size() > 1'000)
      outcomes.erase(outcomes.begin());
    applied = position;
    applied_cv.notify_all();
  }

  // Appends a statement to the catalog log and returns what came of it here.
  std::vector<statement_result> replicate(const statement& st) {
    precheck(st);
    auto position = o.cluster->append(st.text);
    if (!position)
      throw std::runtime_error("cannot write the catalog log: " + position.error().message);
    std::unique_lock lk(mu);
    if (!applied_cv.wait_for(lk, std::chrono::seconds(30), [&] { return applied >= *position; }))
      throw std::runtime_error("statement written to the catalog log (position " +
                               std::to_string(*position) +
                               ") but not applied here within 30 s: it takes effect when it is");
    auto it = outcomes.find(*position);
    if (it == outcomes.end()) return {};
    if (it->second.second) std::rethrow_exception(it->second.second);
    return it->second.first;
  }

  // --- statements ------------------------------------------------------------------

  statement_result run(const statement& st) {
    statement_result res;
    res.statement = st.text;
    std::visit([&](const auto& s) { run(st, s, res); }, st.body);
    return res;
  }

  void run(const statement& st, const create_source_stmt& s, statement_result& res) {
    if (exists(s.name)) {
      if (s.if_not_exists) {
        res.message = "'" + s.name + "' exists already";
        return;
      }
      check_free(s.name, st.loc);
    }
    auto def = make_source_def(s, st.loc, this);
    if (!io->topic_exists(def.topic)) {
      auto sink = io->open_sink(def.topic);  // creates the topic
      if (!sink)
        throw catalog_error("cannot create topic '" + def.topic + "': " + sink.error().message);
    }
    sources[ascii_lower(s.name)] = source_entry{def, st.text};
    if (def.schema_id) pins[ascii_lower(s.name)] = def.schema_id;
    remember(s.name, st.text, [&] {
      sources.erase(ascii_lower(s.name));
      pins.erase(ascii_lower(s.name));
    });
    res.message = std::string(s.is_table ? "table " : "stream ") + s.name + " created on topic '" +
                  def.topic + "'";
  }

  void run(const statement& st, const create_view_stmt& s, statement_result& res) {
    if (exists(s.name) && s.if_not_exists) {
      res.message = "'" + s.name + "' exists already";
      return;
    }
    check_free(s.name, st.loc);
    if (s.query->emit_changes) throw sql_error(s.query->loc, "a view's query has no EMIT CHANGES");
    if (!s.query->into.empty()) throw sql_error(s.query->into_loc, "a view's query has no INTO");
    for (const auto& [k, v] : s.with)
      if (k != "max_rows" && k != "max_bytes" && k != "feed_capacity" && k != "state_ttl" &&
          k != "max_state_bytes")
        throw sql_error(st.loc, "unknown view property '" + k +
                                    "' (known: max_rows, max_bytes, feed_capacity, state_ttl, "
                                    "max_state_bytes)");
    auto p = continuous_plan(*s.query, &s.with, st.loc);
    auto v = make_view(s, p);
    if (o.cluster) {
      // Tasks write the view's changes to its changelog topic; every process materializes it.
      o.cluster->materialize(v, field_types(p), p.key_names);
      auto topic = o.cluster->view_topic(s.name);
      launch(
          s.name, st, p,
          [this, topic](plan& tp, const task_spec* t) {
            return stream::make_topic_writer(
                open_topic(topic, {stream::delivery::exactly_once, {}}, t), tp.names, tp.key_names,
                topic);
          },
          s.name);
    } else {
      launch(
          s.name, st, p, [&](plan&, const task_spec*) { return view::make_view_writer(v); },
          s.name);
    }
    views[ascii_lower(s.name)] = view_entry{v, field_types(p), st.text};
    remember(s.name, st.text, [&] {
      discard_query(s.name);
      if (o.cluster) o.cluster->forget_view(s.name);
      views.erase(ascii_lower(s.name));
    });
    res.message = "view " + s.name + " created";
  }

  void run(const statement& st, const create_sink_stmt& s, statement_result& res) {
    if (exists(s.name) && s.if_not_exists) {
      res.message = "'" + s.name + "' exists already";
      return;
    }
    check_free(s.name, st.loc);
    for (const auto& [k, v] : s.with)
      if (k != "state_ttl" && k != "delivery" && k != "max_state_bytes" && k != "format" &&
          k != "subject" && k != "key_format" && k != "key_subject")
        throw sql_error(st.loc, "unknown sink property '" + k +
                                    "' (known: state_ttl, delivery, max_state_bytes, format, "
                                    "subject, key_format, key_subject)");
    if (s.query->emit_changes) throw sql_error(s.query->loc, "a sink's query has no EMIT CHANGES");
    auto p = continuous_plan(*s.query, &s.with, st.loc);
    launch(s.name, st, p, sink_writer(s, st.loc), s.name);
    sinks[ascii_lower(s.name)] = sink_entry{s.topic, st.text, p.names};
    remember(s.name, st.text, [&] {
      discard_query(s.name);
      sinks.erase(ascii_lower(s.name));
    });
    res.message = "sink " + s.name + " created, writing to topic '" + s.topic + "'";
  }

  // INSERT INTO stream SELECT ..., and SELECT ... INTO stream FROM ... (Azure Stream Analytics)
  void insert_into(const statement& st, const std::string& target, location target_loc,
                   const select_stmt& q, statement_result& res) {
    auto it = sources.find(ascii_lower(target));
    if (it == sources.end() || it->second.def.is_table)
      throw sql_error(target_loc,
                      "unknown stream '" + target + "' (declare it with CREATE STREAM)");
    if (q.emit_changes) throw sql_error(q.loc, "INSERT INTO has no EMIT CHANGES");
    auto p = continuous_plan(q);
    if (p.mode != changelog_mode::append)
      throw sql_error(q.loc, "stream '" + target + "' is append-only but this query's result " +
                                 "is a changelog (" + mode_name(p.mode) +
                                 "): write it to a view, or to a topic with CREATE SINK (upserts " +
                                 "and tombstones by key)");
    const auto& def = it->second.def;
    if (def.format != "JSON")
      throw sql_error(target_loc, "INSERT INTO a stream of format " + def.format +
                                      " is not supported yet: write to a topic with CREATE SINK "
                                      "... WITH (format = 'avro')");
    std::vector<std::string> names;
    for (size_t i = 0; i < p.names.size(); ++i) {
      const stream::field_type* col = nullptr;
      for (const auto& c : def.columns)
        if (ascii_lower(c.name) == ascii_lower(p.names[i])) col = &c;
      if (!col)
        throw sql_error(q.loc, "column '" + p.names[i] + "' is not in stream '" + target + "'");
      names.push_back(col->name);
    }
    std::string name = "insert_" + ascii_lower(target);
    for (int n = 2; exists(name); ++n)
      name = "insert_" + ascii_lower(target) + "_" + std::to_string(n);
    launch(
        name, st, p,
        [this, topic = def.topic, names, options = sink_options_for(name, nullptr, st.loc)](
            plan& tp, const task_spec* t) {
          return stream::make_topic_writer(open_topic(topic, options, t), names, tp.key_names,
                                           topic);
        },
        target);
    remember(name, st.text, [&] { discard_query(name); });
    res.message = "query " + name + " started, writing to stream " + target;
  }

  void run(const statement& st, const insert_stmt& s, statement_result& res) {
    insert_into(st, s.target, s.target_loc, *s.query, res);
  }

  void run(const statement& st, const query_stmt& s, statement_result& res) {
    const auto& q = *s.query;
    if (!q.into.empty()) return insert_into(st, q.into, q.into_loc, q, res);
    if (q.emit_changes)
      throw sql_error(q.loc,
                      "SELECT ... EMIT CHANGES streams its rows: send it to POST /v1/sql on "
                      "its own (the answer is newline-delimited JSON until you close it)");
    auto p = plan_select(q, *this);
    if (p.view_source.empty())
      throw sql_error(q.from->loc,
                      "a stream has no end: add EMIT CHANGES to follow it, or "
                      "query a materialized view");
    snapshot(q, p, res);
  }

  void snapshot(const select_stmt& q, plan& p, statement_result& res) {
    auto v = views.at(ascii_lower(p.view_source)).v;
    std::vector<stream::row> out;
    std::map<stream::row, size_t, view::row_less> by_key;
    auto collect = stream::make_collector([&](const stream::element_batch& b) {
      for (const auto& e : b) {
        if (e.key.empty()) {
          out.push_back(e.r);
          continue;
        }
        auto it = by_key.find(e.key);
        if (e.op == stream::change_op::remove) {
          if (it != by_key.end()) out[it->second].clear();
          continue;
        }
        if (it == by_key.end()) {
          by_key.emplace(e.key, out.size());
          out.push_back(e.r);
        } else {
          out[it->second] = e.r;
        }
      }
    });
    struct null_ctx final : stream::operator_context {
      std::string error;
      void dead_letter(const std::string& reason, const stream::row&,
                       const std::vector<std::string>&, int64_t) override {
        if (error.empty()) error = reason;
      }
      void late(const stream::row&, const std::vector<std::string>&, int64_t) override {}
      void output(size_t) override {}
    } ctx;
    auto& f = p.flow;
    f.connect(f.output, f.add(std::move(collect)));
    for (auto& op : f.operators)
      op->set_context(&ctx);
    stream::element_batch batch;
    for (auto& r : v->rows()) {
      stream::element e;
      e.r = std::move(r);
      batch.push_back(std::move(e));
    }
    auto& heads = f.heads.front();  // the view's rows: the plan's only source
    for (size_t h = 0; h < heads.size(); ++h) {
      stream::element_batch b = h + 1 < heads.size() ? batch : std::move(batch);
      heads[h]->process(b);
      heads[h]->advance_watermark(INT64_MAX);
    }
    if (!ctx.error.empty()) throw catalog_error("query failed on a row: " + ctx.error);
    std::erase_if(out, [](const stream::row& r) { return r.empty(); });
    if (!q.order_by.empty()) {
      std::vector<std::pair<size_t, bool>> keys;
      for (const auto& o : q.order_by) {
        size_t idx = SIZE_MAX;
        if (o.e->k == expr::kind::literal && o.e->lit.k == stream::value::kind::integer &&
            o.e->lit.i >= 1 && static_cast<size_t>(o.e->lit.i) <= p.names.size())
          idx = static_cast<size_t>(o.e->lit.i - 1);
        for (size_t i = 0; i < p.names.size() && idx == SIZE_MAX; ++i)
          if (ascii_lower(p.names[i]) == ascii_lower(o.e->to_string()) ||
              (o.e->k == expr::kind::column && ascii_lower(p.names[i]) == ascii_lower(o.e->name)))
            idx = i;
        if (idx == SIZE_MAX)
          throw sql_error(o.e->loc, "ORDER BY must name an output column or its position");
        keys.emplace_back(idx, o.descending);
      }
      std::stable_sort(out.begin(), out.end(), [&](const stream::row& a, const stream::row& b) {
        for (auto [i, desc] : keys) {
          int c = stream::compare(a[i], b[i]);
          if (c) return desc ? c > 0 : c < 0;
        }
        return false;
      });
    }
    if (q.limit && out.size() > static_cast<size_t>(*q.limit))
      out.resize(static_cast<size_t>(*q.limit));
    res.columns = p.names;
    res.rows = std::move(out);
    res.has_rows = true;
  }

  connector_host& connector_runtime(location loc) {
    if (!connectors) throw sql_error(loc, "this server runs no connectors");
    return *connectors;
  }

  void run(const statement& st, const create_connector_stmt& s, statement_result& res) {
    auto& host = connector_runtime(st.loc);
    auto config = s.with;
    if (!s.source) {
      auto n = ascii_lower(s.from);
      if (auto v = views.find(n); v != views.end())
        config["view"] = v->second.v->name();
      else if (auto src = sources.find(n); src != sources.end())
        config["topics"] = src->second.def.topic;
      else
        throw sql_error(s.from_loc, "unknown stream, table or view '" + s.from + "'");
    }
    if (auto e = host.create_connector(s.name, s.source, std::move(config), s.if_not_exists))
      throw sql_error(st.loc, *e);
    res.message = std::string(s.source ? "source" : "sink") + " connector " + s.name + " created";
  }

  void run(const statement&, const show_stmt& s, statement_result& res) {
    res.has_rows = true;
    if (s.what == "CONNECTORS") {
      res.columns = {"name", "connector", "type", "state", "records", "error"};
      for (const auto& c : connector_runtime({}).connectors())
        res.rows.push_back(
            {str(c.name), str(c.kind), str(c.type), str(c.state), num(c.records), str(c.error)});
      return;
    }
    if (s.what == "STREAMS" || s.what == "TABLES") {
      bool tables = s.what == "TABLES";
      res.columns = {"name", "topic", "columns", "timestamp", "watermark_delay_ms"};
      for (const auto& [n, e] : sources) {
        if (e.def.is_table != tables) continue;
        std::string cols;
        for (const auto& c : e.def.columns)
          cols += (cols.empty() ? "" : ", ") + c.name + " " + c.type->to_string();
        res.rows.push_back({str(e.def.name), str(e.def.topic), str(cols),
                            e.def.timestamp_column.empty() ? str("(record timestamp)")
                                                           : str(e.def.timestamp_column),
                            num(e.def.watermark_delay_ms)});
      }
    } else if (s.what == "VIEWS") {
      res.columns = {"name", "rows", "bytes", "sequence"};
      for (const auto& [n, e] : views)
        res.rows.push_back({str(e.v->name()), num(static_cast<int64_t>(e.v->size())),
                            num(static_cast<int64_t>(e.v->bytes())),
                            num(static_cast<int64_t>(e.v->sequence()))});
    } else if (s.what == "SINKS") {
      res.columns = {"name", "topic"};
      for (const auto& [n, e] : sinks)
        res.rows.push_back({str(n), str(e.topic)});
    } else if (s.what == "QUERIES") {
      res.columns = {"name",         "state",        "records_in", "records_out",
                     "dead_letters", "late_records", "watermark",  "lag",
                     "state_bytes",  "error",        "statement"};
      for (const auto& [n, e] : queries) {
        auto st = e.q->stats();
        res.rows.push_back(
            {str(st.name), str(st.state), num(st.records_in), num(st.records_out),
             num(st.dead_letters), num(st.late_records),
             st.watermark == INT64_MIN ? stream::value() : stream::value::timestamp(st.watermark),
             num(st.lag), num(st.state_bytes), st.error.empty() ? stream::value() : str(st.error),
             str(e.text)});
      }
    } else {
      throw catalog_error("SHOW TOPICS: use `sluice topic list` or a Kafka client");
    }
  }

  void run(const statement&, const describe_stmt& s, statement_result& res) {
    res.has_rows = true;
    res.columns = {"column", "type"};
    if (const auto* d = find_source(s.name)) {
      for (const auto& c : d->columns) {
        std::string t = c.type->to_string();
        for (const auto& k : d->primary_key)
          if (k == c.name) t += " PRIMARY KEY";
        if (c.name == d->timestamp_column) t += " (event time)";
        res.rows.push_back({str(c.name), str(t)});
      }
      return;
    }
    if (const auto* cols = find_view(s.name)) {
      for (const auto& c : *cols)
        res.rows.push_back({str(c.name), str(c.type->to_string())});
      return;
    }
    throw sql_error(s.loc, "unknown stream, table or view '" + s.name + "'");
  }

  void run(const statement&, const drop_stmt& s, statement_result& res) {
    if (s.what == "CONNECTOR") {
      if (auto e = connector_runtime(s.loc).drop_connector(s.name, s.if_exists))
        throw sql_error(s.loc, *e);
      res.message = "connector " + s.name + " dropped";
      return;
    }
    auto n = ascii_lower(s.name);
    auto missing = [&] {
      if (s.if_exists) {
        res.message = "'" + s.name + "' does not exist";
        return;
      }
      throw sql_error(s.loc, "unknown " + ascii_lower(s.what) + " '" + s.name + "'");
    };
    if (s.what == "STREAM" || s.what == "TABLE") {
      auto it = sources.find(n);
      if (it == sources.end() || it->second.def.is_table != (s.what == "TABLE")) return missing();
      for (const auto& [qn, q] : queries)
        if (std::find(q.inputs.begin(), q.inputs.end(), n) != q.inputs.end() || q.output == n)
          throw catalog_error("'" + s.name + "' is used by query " + qn + " (drop it first)");
      pins.erase(n);
      declined.erase(n);
      forget(n);
      sources.erase(it);
      res.message = ascii_lower(s.what) + " " + s.name + " dropped (its topic is kept)";
    } else if (s.what == "VIEW") {
      if (!views.count(n)) return missing();
      forget(n);
      discard_query(n);
      if (o.cluster) o.cluster->forget_view(s.name);
      views.at(n).v->end("view '" + s.name + "' was dropped");
      views.erase(n);
      res.message = "view " + s.name + " dropped";
    } else if (s.what == "SINK") {
      if (!sinks.count(n)) return missing();
      forget(n);
      discard_query(n);
      sinks.erase(n);
      res.message = "sink " + s.name + " dropped (its topic is kept)";
    } else {
      if (!queries.count(n)) return missing();
      if (views.count(n) || sinks.count(n))
        throw catalog_error("query " + s.name + " belongs to a view or sink: DROP that instead");
      forget(n);
      discard_query(n);
      res.message = "query " + s.name + " stopped and dropped";
    }
  }

  void run(const statement&, const explain_stmt& s, statement_result& res) {
    const select_stmt* q = select_of(*s.inner);
    if (!q)
      throw sql_error(s.inner->loc,
                      "EXPLAIN takes a query (SELECT, CREATE MATERIALIZED "
                      "VIEW, CREATE SINK or INSERT INTO)");
    auto p = plan_select(*q, *this, planning());
    std::string text = "Logical plan:\n" + explain(*p.root);
    if (p.view_source.empty()) {
      auto query = build("explain", p, stream::make_collector([](const stream::element_batch&) {}));
      text += "Dataflow:\n" + query->explain();
    }
    res.has_rows = true;
    res.columns = {"plan"};
    size_t start = 0;
    while (start < text.size()) {
      auto end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      res.rows.push_back({str(text.substr(start, end - start))});
      start = end + 1;
    }
  }
};

engine::engine(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

engine::~engine() {
  stop();
}

result<std::unique_ptr<engine>> engine::open(engine_options options,
                                             std::shared_ptr<stream::topic_io> io) {
  auto m = std::make_unique<impl>();
  m->o = std::move(options);
  m->io = std::move(io);
  if (m->o.cluster) {
    std::unique_ptr<engine> e(new engine(std::move(m)));
    auto& im = *e->impl_;
    auto r = im.o.cluster->follow(
        [&im](int64_t position, const std::string& text) { im.apply(position, text); });
    if (!r) return r.error();
    spdlog::info("sql: catalog of the cluster applied up to statement {}, {} queries", im.applied,
                 im.queries.size());
    return e;
  }
  std::error_code ec;
  std::filesystem::create_directories(m->checkpoint_dir(), ec);
  if (ec)
    return make_error(errc::io_error,
                      "cannot create " + m->checkpoint_dir().string() + ": " + ec.message());
  auto path = m->sql_dir() / "catalog.json";
  std::vector<std::string> stored;
  if (std::filesystem::exists(path)) {
    auto data = read_file(path);
    if (!data) return data.error();
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(reinterpret_cast<const char*>(data->data()), data->size()).get(doc))
      return make_error(errc::io_error, path.string() + " is not valid JSON");
    simdjson::dom::array arr;
    if (doc["statements"].get_array().get(arr))
      return make_error(errc::io_error, path.string() + " has no statements array");
    simdjson::dom::object pinned;
    if (!doc["schemas"].get_object().get(pinned))
      for (auto [name, id] : pinned) {
        int64_t v = 0;
        if (!id.get(v)) m->pins[std::string(name)] = static_cast<int32_t>(v);
      }
    for (auto s : arr) {
      std::string_view v;
      if (s.get_string().get(v))
        return make_error(errc::io_error, path.string() + ": bad statement");
      stored.emplace_back(v);
    }
  }
  std::unique_ptr<engine> e(new engine(std::move(m)));
  auto& im = *e->impl_;
  im.replaying = true;
  for (const auto& text : stored) {
    try {
      e->execute(text);
    } catch (const std::exception& x) {
      spdlog::error("catalog: cannot restore `{}`: {}", text, x.what());
    }
  }
  im.replaying = false;
  // Rewrite the catalog from what was restored.
  try {
    im.save();
  } catch (const std::exception& x) {
    return make_error(errc::io_error, x.what());
  }
  if (!stored.empty())
    spdlog::info("sql: restored {} statements, {} queries running", stored.size(),
                 im.queries.size());
  if (im.o.schemas) {
    im.seen_generation = 0;  // a first look at once: versions registered while it was down
    im.evolver = std::thread([&im] { im.watch_schemas(); });
  }
  return e;
}

std::vector<statement_result> engine::execute(const std::string& text) {
  auto stmts = parse(text);
  auto& im = *impl_;
  std::vector<statement_result> out;
  for (const auto& st : stmts) {
    if (im.o.cluster && !im.replaying && impl::changes_catalog(st)) {
      for (auto& r : im.replicate(st))
        out.push_back(std::move(r));
      continue;
    }
    std::lock_guard lk(im.mu);
    out.push_back(im.run(st));
  }
  return out;
}

std::unique_ptr<push_query> engine::subscribe(
    const std::string& select, std::function<void(const stream::element_batch&)> on_rows) {
  auto stmts = parse(select);
  if (stmts.size() != 1 || !std::holds_alternative<query_stmt>(stmts[0].body))
    throw catalog_error("a push query is one SELECT ... EMIT CHANGES");
  const auto& q = *std::get<query_stmt>(stmts[0].body).query;
  if (!q.emit_changes) throw sql_error(q.loc, "a push query ends with EMIT CHANGES");
  std::lock_guard lk(impl_->mu);
  auto p = impl_->continuous_plan(q);
  std::string name = "push_" + std::to_string(++impl_->push_seq);
  stream::query_options qo;
  qo.name = name;
  qo.flow = std::move(p.flow);
  qo.flow.connect(qo.flow.output, qo.flow.add(stream::make_collector(std::move(on_rows))));
  qo.dead_letter_topic = "sluice.push.dlq";
  qo.max_state_bytes = impl_->o.max_state_bytes;
  qo.read_alignment_ms = impl_->o.read_alignment_ms;
  auto query = std::make_unique<stream::query>(*impl_->io, std::move(qo));
  if (auto r = query->start(); !r) throw catalog_error(r.error().message);
  return std::make_unique<push_query_impl>(std::move(query), p.names);
}

std::optional<std::string> engine::topic_of(const std::string& source) const {
  std::lock_guard lk(impl_->mu);
  const auto* def = impl_->find_source(source);
  if (!def) return std::nullopt;
  return def->topic;
}

void engine::set_connectors(connector_host* host) {
  std::lock_guard lk(impl_->mu);
  impl_->connectors = host;
}

std::shared_ptr<view::view> engine::find_view(const std::string& name) const {
  std::lock_guard lk(impl_->mu);
  auto it = impl_->views.find(ascii_lower(name));
  return it == impl_->views.end() ? nullptr : it->second.v;
}

std::vector<stream::query_stats> engine::query_stats() const {
  std::lock_guard lk(impl_->mu);
  std::vector<stream::query_stats> out;
  for (const auto& [n, q] : impl_->queries)
    out.push_back(q.q->stats());
  return out;
}

std::vector<std::shared_ptr<view::view>> engine::views() const {
  std::lock_guard lk(impl_->mu);
  std::vector<std::shared_ptr<view::view>> out;
  for (const auto& [n, v] : impl_->views)
    out.push_back(v.v);
  return out;
}

bool engine::sync(std::chrono::milliseconds timeout) const {
  std::lock_guard lk(impl_->mu);
  for (const auto& [n, q] : impl_->queries)
    if (!q.q->wait_caught_up(timeout)) return false;
  return true;
}

void engine::stop() {
  if (!impl_) return;
  if (impl_->o.cluster) impl_->o.cluster->stop();
  if (impl_->evolver.joinable()) {
    {
      std::lock_guard lk(impl_->evolver_mu);
      impl_->evolver_stop = true;
    }
    impl_->evolver_cv.notify_all();
    impl_->evolver.join();
  }
  std::lock_guard lk(impl_->mu);
  for (auto& [n, q] : impl_->queries)
    q.q->stop(true);
}

std::string to_json(const std::vector<statement_result>& results) {
  json_writer w;
  w.begin_object().key("results").begin_array();
  for (const auto& r : results) {
    w.begin_object().key("statement").value(r.statement);
    if (r.has_rows) {
      w.key("columns").begin_array();
      for (const auto& c : r.columns)
        w.value(c);
      w.end_array().key("rows").begin_array();
      for (const auto& values : r.rows)
        w.raw_with([&](std::string& out) { stream::append_json_row(out, r.columns, values); });
      w.end_array();
    } else {
      w.key("message").value(r.message);
    }
    w.end_object();
  }
  w.end_array().end_object();
  return std::move(w).str();
}

}  // namespace sluice::sql
