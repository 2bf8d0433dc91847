#include "http/rest_consumers.h"
#include "base/json_writer.h"

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>

#include "base/base64.h"
#include "base/run_on.h"
#include "group/coordinator.h"
#include "http/error_body.h"
#include "http/json_payload.h"
#include "http/url.h"
#include "schema/wire_format.h"
#include "stream/value.h"

namespace sluice::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using request = bhttp::request<bhttp::string_body>;

namespace {

reply no_content() {
  return {204, {}};
}

// 403 naming the first topic of `l` that `caller` may not read, or nullopt.
std::optional<reply> unreadable(const rd_kafka_topic_partition_list_t& l,
                                const rest_caller& caller) {
  if (!caller.may_read) return std::nullopt;
  for (int i = 0; i < l.cnt; ++i)
    if (!caller.may_read(l.elems[i].topic))
      return reply{403, error_body(40301, caller.principal + " may not read topic '" +
                                              std::string(l.elems[i].topic) + "'")};
  return std::nullopt;
}

struct partition_list_deleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using partition_list = std::unique_ptr<rd_kafka_topic_partition_list_t, partition_list_deleter>;

// {"<field>":[{"topic":..,"partition":..[,"offset":..]},..]} as a librdkafka list; offsets
// shifted by `offset_delta` (nullopt when the body is not of that shape).
std::optional<partition_list> parse_partitions(const std::string& body, const char* field,
                                               bool with_offsets, int64_t offset_delta,
                                               std::string& err) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  simdjson::dom::array items;
  if (p.parse(body).get(doc) || doc[field].get_array().get(items)) {
    err = std::string("expected {\"") + field + "\":[{\"topic\":..,\"partition\":.." +
          (with_offsets ? ",\"offset\":.." : "") + "},..]}";
    return std::nullopt;
  }
  partition_list out(rd_kafka_topic_partition_list_new(static_cast<int>(items.size())));
  for (auto item : items) {
    std::string_view topic;
    int64_t partition = 0, offset = 0;
    if (item["topic"].get_string().get(topic) || item["partition"].get_int64().get(partition) ||
        partition < 0 || partition > INT32_MAX ||
        (with_offsets && (item["offset"].get_int64().get(offset) || offset < 0))) {
      err = std::string("each of \"") + field + "\" needs a topic, a partition" +
            (with_offsets ? " and an offset >= 0" : "");
      return std::nullopt;
    }
    auto* tp = rd_kafka_topic_partition_list_add(out.get(), std::string(topic).c_str(),
                                                 static_cast<int32_t>(partition));
    if (with_offsets) tp->offset = offset + offset_delta;
  }
  return out;
}

// {"partitions":[{"topic":..,"partition":..},..]}
std::string partitions_json(const rd_kafka_topic_partition_list_t* l) {
  json_writer w;
  w.begin_object().key("partitions").begin_array();
  for (int i = 0; i < l->cnt; ++i)
    w.begin_object()
        .key("topic")
        .value(l->elems[i].topic)
        .key("partition")
        .value(l->elems[i].partition)
        .end_object();
  w.end_array().end_object();
  return std::move(w).str();
}

// "avro", "protobuf" and "jsonschema" all read registered values by the schema each names.
enum class payload_format { binary, json, avro, protobuf, jsonschema };

std::string_view name_of(payload_format f) {
  switch (f) {
    case payload_format::binary:
      return "binary";
    case payload_format::json:
      return "json";
    case payload_format::avro:
      return "avro";
    case payload_format::protobuf:
      return "protobuf";
    case payload_format::jsonschema:
      return "jsonschema";
  }
  return "binary";
}

// A key or value of a record in the instance's format: base64 for "binary", the JSON of a
// registered value for the formats with schemas (Avro's JSON encoding, Protobuf's JSON mapping;
// base64 when it is not one), else append_json_payload.
void append_payload(std::string& out, const void* data, size_t len, payload_format format,
                    const schema::registry* schemas, simdjson::dom::parser& parser) {
  std::string_view bytes(static_cast<const char*>(data), data ? len : 0);
  if (data && format != payload_format::binary && format != payload_format::json && schemas) {
    std::string err;
    if (auto json = schema::framed_to_json(*schemas, bytes, true, err)) {
      out += *json;
      return;
    }
  }
  if (data && format != payload_format::json) {
    out += '"';
    out += base64_encode(bytes);
    out += '"';
    return;
  }
  append_json_payload(out, data ? std::optional<std::string_view>(bytes) : std::nullopt, parser);
}

void log_to_spdlog(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (level <= 3)
    spdlog::warn("rest consumer: {}: {}", fac, buf);
  else
    spdlog::debug("rest consumer: {}: {}", fac, buf);
}

}  // namespace

// One consumer instance. Everything but the blocking client calls (which hold a reference
// while they run on a worker) happens on the event loop; `closed` is set there before the
// instance leaves the map, and nothing touches `rk` after it.
struct rest_consumers::instance {
  std::string group, name;
  std::string owner;  // the principal that created it
  payload_format format = payload_format::binary;
  rd_kafka_t* rk = nullptr;
  rd_kafka_queue_t* queue = nullptr;  // the consumer queue; signals `wake` when it fills
  int pipe_write = -1;
  asio::posix::stream_descriptor wake;
  std::chrono::steady_clock::time_point last_used = std::chrono::steady_clock::now();
  bool reading = false;
  bool closed = false;

  explicit instance(asio::io_context& io) : wake(io) {}
  // Leaves the group (a commit first with auto-commit) and frees the client: blocking, so the
  // owner's deleter runs it on a worker.
  ~instance() {
    if (queue) rd_kafka_queue_destroy(queue);
    if (rk) {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
    if (pipe_write >= 0) ::close(pipe_write);
  }
  void close_on_loop() {
    closed = true;
    boost::system::error_code ignore;
    wake.close(ignore);
  }
};

rest_consumers::rest_consumers(asio::io_context& io, asio::any_io_executor workers,
                               const group::coordinator& groups, rest_consumer_limits limits)
    : io_(io),
      workers_(std::move(workers)),
      groups_(groups),
      limits_(std::move(limits)),
      reaper_(io) {}

rest_consumers::~rest_consumers() {
  close_all();
}

void rest_consumers::close_all() {
  reaper_.cancel();
  for (auto& [k, in] : instances_)
    in->close_on_loop();
  instances_.clear();
}

void rest_consumers::expire() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = instances_.begin(); it != instances_.end();) {
    if (!it->second->reading && now - it->second->last_used > limits_.idle_timeout) {
      spdlog::info("rest consumer {}/{} unused for {} ms: closed", it->first.first,
                   it->first.second, limits_.idle_timeout.count());
      it->second->close_on_loop();
      it = instances_.erase(it);
    } else {
      ++it;
    }
  }
  if (instances_.empty()) return;
  reaper_.expires_after(std::min<std::chrono::steady_clock::duration>(limits_.idle_timeout,
                                                                      std::chrono::seconds(10)));
  reaper_.async_wait([this](boost::system::error_code ec) {
    if (!ec) expire();
  });
}

void rest_consumers::add_routes(router& r) {
  using verb = bhttp::verb;
  auto group_read = needs::named(security::acl_operation::read, security::resource_type::group);
  r.add(verb::post, "/consumers/{group}", group_read, this, &rest_consumers::create_instance,
        k_v2_json);
  // An instance's endpoints: {method, what follows .../instances/{i}}.
  static constexpr std::pair<verb, std::string_view> k_instance[] = {
      {verb::delete_, ""},
      {verb::get, "/records"},
      {verb::post, "/subscription"},
      {verb::get, "/subscription"},
      {verb::delete_, "/subscription"},
      {verb::post, "/assignments"},
      {verb::get, "/assignments"},
      {verb::post, "/offsets"},
      {verb::get, "/offsets"},
      {verb::post, "/positions"},
      {verb::post, "/positions/beginning"},
      {verb::post, "/positions/end"},
  };
  for (auto [method, what] : k_instance) {
    std::string pattern = "/consumers/{group}/instances/{i}" + std::string(what);
    r.add({method, pattern, "/consumers/{group}/...", group_read,
           [this, what = what.empty() ? what : what.substr(1)](const call& c) {
             return at_instance(c, what);
           },
           k_v2_json});
  }
}

rest_caller rest_consumers::caller_of(const call& c) {
  rest_caller caller{c.who.principal, nullptr};
  if (c.who.may)
    caller.may_read = [may = c.who.may](std::string_view topic) {
      return may(security::acl_operation::read, security::resource_type::topic, topic);
    };
  return caller;
}

// (The caller is held in this frame: create() takes it by reference.)
awaitable<reply> rest_consumers::create_instance(const call& c) {
  auto caller = caller_of(c);
  co_return co_await create(c.req, c.params[0], caller);
}

awaitable<reply> rest_consumers::at_instance(const call& c, std::string_view what) {
  auto it = instances_.find({c.params[0], c.params[1]});
  if (it == instances_.end())
    co_return reply{404, error_body(40403, "Consumer instance not found")};
  auto in = it->second;
  auto caller = caller_of(c);
  if (caller.may_read && caller.principal != in->owner)
    co_return reply{403, error_body(40301, "this consumer instance belongs to " + in->owner)};
  in->last_used = std::chrono::steady_clock::now();
  co_return co_await on_instance(c.req, in, what, caller);
}

awaitable<reply> rest_consumers::create(const request& req, const std::string& group,
                                        const rest_caller& caller) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  std::string name, format = "binary", reset = "latest", autocommit = "true";
  if (!req.body().empty()) {
    if (p.parse(req.body()).get(doc) || !doc.is_object())
      co_return reply{422, error_body(42204, "expected a JSON object of consumer settings")};
    auto text = [&](const char* key, std::string& out) {
      std::string_view v;
      if (!doc[key].get_string().get(v)) out = std::string(v);
    };
    text("name", name);
    text("format", format);
    text("auto.offset.reset", reset);
    text("auto.commit.enable", autocommit);
  }
  std::optional<payload_format> chosen;
  for (auto f : {payload_format::binary, payload_format::json, payload_format::avro,
                 payload_format::protobuf, payload_format::jsonschema})
    if (name_of(f) == format) chosen = f;
  if (!chosen)
    co_return reply{
        422, error_body(42204, "format must be json, binary, avro, protobuf or jsonschema, got '" +
                                   format + "'")};
  if (*chosen != payload_format::binary && *chosen != payload_format::json && !limits_.schemas)
    co_return reply{422, error_body(42204, "format " + format + " needs the schema registry")};
  if (reset != "earliest" && reset != "latest" && reset != "none")
    co_return reply{
        422, error_body(42204,
                        "auto.offset.reset must be earliest, latest or none, got '" + reset + "'")};
  if (autocommit != "true" && autocommit != "false")
    co_return reply{422, error_body(42204, "auto.commit.enable must be true or false, got '" +
                                               autocommit + "'")};
  if (name.empty()) name = "rest-consumer-" + std::to_string(++next_id_);
  if (name.find('/') != std::string::npos)
    co_return reply{422, error_body(42204, "a consumer name cannot contain '/'")};
  if (instances_.count({group, name}))
    co_return reply{409,
                    error_body(40902, "Consumer instance with the specified name already exists")};
  if (instances_.size() >= limits_.max_instances)
    co_return reply{429, error_body(42901, "too many consumer instances (" +
                                               std::to_string(limits_.max_instances) +
                                               "); delete unused ones")};

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const std::string& v) {
    return rd_kafka_conf_set(conf, k, v.c_str(), errstr, sizeof errstr) == RD_KAFKA_CONF_OK;
  };
  int64_t poll_interval = std::max<int64_t>(limits_.idle_timeout.count() + 60'000, 60'000);
  bool ok = set("bootstrap.servers", limits_.bootstrap) && set("group.id", group) &&
            set("client.id", "sluice-rest-" + name) &&
            set("auto.offset.reset", reset == "none" ? "error" : reset) &&
            set("enable.auto.commit", autocommit) && set("enable.partition.eof", "false") &&
            set("max.poll.interval.ms", std::to_string(poll_interval));
  for (const auto& [k, v] : limits_.client_properties)
    ok = ok && set(k.c_str(), v);
  if (!ok) {
    rd_kafka_conf_destroy(conf);
    co_return reply{422, error_body(42204, errstr)};
  }
  rd_kafka_conf_set_log_cb(conf, log_to_spdlog);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    co_return reply{500, error_body(50002, std::string("cannot create the consumer: ") + errstr)};
  }
  // Deleted on a worker: closing a consumer waits for the broker.
  auto* raw = new instance(io_);
  std::shared_ptr<instance> in(raw,
                               [ex = workers_](instance* p) { asio::post(ex, [p] { delete p; }); });
  in->group = group;
  in->name = name;
  in->owner = caller.principal;
  in->format = *chosen;
  in->rk = rk;
  rd_kafka_poll_set_consumer(rk);
  in->queue = rd_kafka_queue_get_consumer(rk);
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
    co_return reply{500, error_body(50002, "cannot create a pipe")};
  in->wake.assign(fds[0]);
  in->pipe_write = fds[1];
  rd_kafka_queue_io_event_enable(in->queue, fds[1], "1", 1);

  bool first = instances_.empty();
  instances_.emplace(std::make_pair(group, name), in);
  if (first) expire();  // starts the reaper

  std::string host(req[bhttp::field::host]);
  json_writer w;
  w.begin_object().key("instance_id").value(name).key("base_uri");
  w.value("http://" + (host.empty() ? std::string("localhost") : host) + "/consumers/" + group +
          "/instances/" + name);
  w.end_object();
  co_return reply{200, std::move(w).str()};
}

awaitable<reply> rest_consumers::on_instance(const request& req, std::shared_ptr<instance> in,
                                             std::string_view what, const rest_caller& caller) {
  auto method = req.method();
  // A blocking client call on a worker; the answer comes back on the loop.
  auto blocking = [&](auto fn) -> awaitable<reply> { return run_on(workers_, std::move(fn)); };
  auto kafka_error = [](rd_kafka_resp_err_t err) {
    return reply{500, error_body(50002, rd_kafka_err2str(err))};
  };
  std::string err;

  if (what.empty()) {
    in->close_on_loop();
    instances_.erase({in->group, in->name});
    co_return no_content();
  }
  if (what == "records") {
    co_return co_await records(req, in, caller);
  }
  if (what == "subscription") {
    if (method == bhttp::verb::get) {
      rd_kafka_topic_partition_list_t* l = nullptr;
      if (auto e = rd_kafka_subscription(in->rk, &l)) co_return kafka_error(e);
      partition_list owned(l);
      json_writer w;
      w.begin_object().key("topics").begin_array();
      for (int i = 0; i < l->cnt; ++i)
        w.value(l->elems[i].topic);
      w.end_array().end_object();
      co_return reply{200, std::move(w).str()};
    }
    if (method == bhttp::verb::delete_) {
      if (auto e = rd_kafka_unsubscribe(in->rk)) co_return kafka_error(e);
      co_return no_content();
    }
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    simdjson::dom::array topics;
    std::string_view pattern;
    partition_list l(rd_kafka_topic_partition_list_new(4));
    if (!p.parse(req.body()).get(doc) && !doc["topics"].get_array().get(topics)) {
      for (auto t : topics) {
        std::string_view name;
        if (t.get_string().get(name) || name.empty())
          co_return reply{422, error_body(42201, "topics must be a list of topic names")};
        rd_kafka_topic_partition_list_add(l.get(), std::string(name).c_str(),
                                          RD_KAFKA_PARTITION_UA);
      }
    } else if (!doc.is_object() || doc["topic_pattern"].get_string().get(pattern)) {
      co_return reply{
          422, error_body(42201, "expected {\"topics\":[..]} or {\"topic_pattern\":\"..\"}")};
    } else {
      // librdkafka takes a topic name starting with ^ as a regular expression.
      std::string re(pattern);
      if (!re.starts_with('^')) re = "^" + re;
      rd_kafka_topic_partition_list_add(l.get(), re.c_str(), RD_KAFKA_PARTITION_UA);
    }
    if (l->cnt == 0) co_return reply{422, error_body(42201, "no topics to subscribe to")};
    if (pattern.empty())
      if (auto refused = unreadable(*l, caller)) co_return std::move(*refused);
    if (auto e = rd_kafka_subscribe(in->rk, l.get())) co_return kafka_error(e);
    co_return no_content();
  }
  if (what == "assignments") {
    if (method == bhttp::verb::get) {
      rd_kafka_topic_partition_list_t* l = nullptr;
      if (auto e = rd_kafka_assignment(in->rk, &l)) co_return kafka_error(e);
      partition_list owned(l);
      co_return reply{200, partitions_json(l)};
    }
    auto l = parse_partitions(req.body(), "partitions", false, 0, err);
    if (!l) co_return reply{422, error_body(42201, err)};
    if (auto refused = unreadable(**l, caller)) co_return std::move(*refused);
    if (auto e = rd_kafka_assign(in->rk, l->get())) co_return kafka_error(e);
    co_return no_content();
  }
  if (what == "offsets") {
    if (method == bhttp::verb::get) {
      // Read from the coordinator in this process (librdkafka's rd_kafka_committed() next to a
      // polling consumer trips internal assertions in librdkafka 2.0).
      auto l = parse_partitions(req.body(), "partitions", false, 0, err);
      if (!l) co_return reply{422, error_body(42201, err)};
      std::vector<group::topic_partition> which;
      for (int i = 0; i < (*l)->cnt; ++i)
        which.push_back({(*l)->elems[i].topic, (*l)->elems[i].partition});
      json_writer w;
      w.begin_object().key("offsets").begin_array();
      for (const auto& [tp, c] : groups_.fetch(in->group, which)) {
        if (c.offset < 0) continue;  // nothing committed
        w.begin_object().key("topic").value(tp.topic).key("partition").value(tp.partition);
        w.key("offset").value(static_cast<int64_t>(c.offset)).key("metadata").value(c.metadata);
        w.end_object();
      }
      w.end_array().end_object();
      co_return reply{200, std::move(w).str()};
    }
    std::optional<partition_list> l;
    bool everything = req.body().find_first_not_of(" \t\r\n") == std::string::npos;
    if (!everything) {
      // The REST Proxy's offsets are those of the last records processed: commit the next.
      l = parse_partitions(req.body(), "offsets", true, 1, err);
      if (!l) co_return reply{422, error_body(42201, err)};
    }
    co_return co_await blocking([&] {
      auto e = rd_kafka_commit(in->rk, l ? l->get() : nullptr, 0);
      if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        return reply{500, error_body(50002, rd_kafka_err2str(e))};
      return reply{200, {}};
    });
  }
  if (what == "positions" || what == "positions/beginning" || what == "positions/end") {
    bool explicit_offsets = what == "positions";
    auto l = parse_partitions(req.body(), explicit_offsets ? "offsets" : "partitions",
                              explicit_offsets, 0, err);
    if (!l) co_return reply{422, error_body(42201, err)};
    if (!explicit_offsets)
      for (int i = 0; i < (*l)->cnt; ++i)
        (*l)->elems[i].offset =
            what == "positions/end" ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
    co_return co_await blocking([&, l = std::move(*l)] {
      if (rd_kafka_error_t* e = rd_kafka_seek_partitions(in->rk, l.get(), 10'000)) {
        reply a{500, error_body(50002, rd_kafka_error_string(e))};
        rd_kafka_error_destroy(e);
        return a;
      }
      for (int i = 0; i < l->cnt; ++i)
        if (l->elems[i].err)
          return reply{409, error_body(40903, std::string("cannot seek ") + l->elems[i].topic +
                                                  "/" + std::to_string(l->elems[i].partition) +
                                                  ": " + rd_kafka_err2str(l->elems[i].err) +
                                                  " (only assigned partitions can be moved)")};
      return no_content();
    });
  }
  co_return reply{404, error_body(40400, "no such endpoint: " + std::string(req.target()))};
}

awaitable<reply> rest_consumers::records(const request& req, std::shared_ptr<instance> in,
                                         const rest_caller& caller) {
  std::string_view accept = req[bhttp::field::accept];
  for (const char* f : {"json", "binary", "avro", "protobuf", "jsonschema"}) {
    if (accept.find(std::string("application/vnd.kafka.") + f + ".v2") == std::string_view::npos)
      continue;
    if (f != name_of(in->format))
      co_return reply{406, error_body(40601,
                                      "The requested embedded data format does not match the "
                                      "deserializer for this consumer instance")};
  }
  auto number = [&](const char* name, int64_t fallback) -> int64_t {
    auto v = query_param(req.target(), name);
    int64_t n = 0;
    if (!v || std::from_chars(v->data(), v->data() + v->size(), n).ec != std::errc() || n < 0)
      return fallback;
    return n;
  };
  auto timeout = std::chrono::milliseconds(std::min<int64_t>(number("timeout", 1000), 60'000));
  auto max_bytes = static_cast<size_t>(number("max_bytes", 64 << 20));
  if (in->reading)
    co_return reply{409, error_body(40901, "this consumer instance is already reading")};
  in->reading = true;
  struct unmark {
    instance& i;
    ~unmark() {
      i.reading = false;
      i.last_used = std::chrono::steady_clock::now();
    }
  } guard{*in};

  auto deadline = std::chrono::steady_clock::now() + timeout;
  json_writer w;
  w.begin_array();
  std::string payload;
  size_t bytes = 0, count = 0;
  simdjson::dom::parser parser;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    while (bytes < max_bytes) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(in->rk, 0);
      if (!m) break;
      if (m->err) {
        spdlog::debug("rest consumer {}/{}: {}", in->group, in->name, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        continue;
      }
      // A pattern subscription may match topics the owner may not read (or an ACL changed).
      if (caller.may_read && !caller.may_read(rd_kafka_topic_name(m->rkt))) {
        rd_kafka_message_destroy(m);
        continue;
      }
      ++count;
      w.begin_object().key("topic").value(rd_kafka_topic_name(m->rkt)).key("key");
      payload.clear();
      append_payload(payload, m->key, m->key_len, in->format, limits_.schemas.get(), parser);
      w.raw(payload).key("value");
      payload.clear();
      append_payload(payload, m->payload, m->len, in->format, limits_.schemas.get(), parser);
      w.raw(payload).key("partition").value(m->partition);
      w.key("offset").value(static_cast<int64_t>(m->offset)).end_object();
      bytes += m->len + m->key_len;
      rd_kafka_message_destroy(m);
    }
    if (count > 0 || std::chrono::steady_clock::now() >= deadline) break;
    // Wait for librdkafka's signal that the queue has something, or the deadline.
    timer.expires_at(deadline);
    timer.async_wait([in](boost::system::error_code ec) {
      if (!ec && !in->closed) {
        boost::system::error_code ignore;
        in->wake.cancel(ignore);
      }
    });
    char drain[64];
    auto [ec, n] =
        co_await in->wake.async_read_some(asio::buffer(drain), asio::as_tuple(use_awaitable));
    timer.cancel();
    if (in->closed) co_return reply{404, error_body(40403, "Consumer instance not found")};
    if (ec && ec != asio::error::operation_aborted) break;
    // Empty the pipe; the next poll round takes what arrived.
    while (::read(in->wake.native_handle(), drain, sizeof drain) > 0) {
    }
  }
  w.end_array();
  co_return reply{200, std::move(w).str()};
}

}  // namespace sluice::http
