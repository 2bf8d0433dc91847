#include "connect/runner.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/clock.h"
#include "base/json_writer.h"
#include "connect/state_topic.h"
#include "stream/io.h"
#include "view/view.h"

namespace sluice::connect {

namespace {

std::string position_partition(const std::string& topic, int32_t p) {
  json_writer w;
  w.begin_object().key("topic").value(topic).key("partition").value(p).end_object();
  return std::move(w).str();
}

std::string position_offset(int64_t next) {
  json_writer w;
  w.begin_object().key("offset").value(next).end_object();
  return std::move(w).str();
}

// A view's key as the record key: the text of a one-column key, else a JSON array.
std::string key_text(const stream::row& key) {
  if (key.size() == 1 && key[0].k == stream::value::kind::string) return std::string(key[0].str());
  std::string out;
  if (key.size() == 1) {
    stream::append_json(out, key[0]);
    return out;
  }
  out = "[";
  for (size_t i = 0; i < key.size(); ++i) {
    if (i) out += ',';
    stream::append_json(out, key[i]);
  }
  return out + "]";
}

}  // namespace

std::string offset_key(const std::string& connector, const std::string& partition) {
  json_writer w;
  w.begin_array().value(connector).raw(partition).end_array();
  return std::move(w).str();
}

runner::runner(std::string name, const kind& k, config c, const worker_options& o,
               state_topic& offsets)
    : name_(std::move(name)),
      kind_(k),
      config_(std::move(c)),
      o_(o),
      offsets_(offsets),
      retry_for_(integer_or(config_, "errors.retry.timeout", 30'000)),
      max_retry_delay_(integer_or(config_, "errors.retry.delay.max.ms", 60'000)),
      tolerate_(setting(config_, "errors.tolerance", "none") == "all") {
  status_.name = name_;
  status_.kind = kind_.name;
  status_.type = kind_.type;
  status_.state = "UNASSIGNED";
}

runner::~runner() {
  stop();
}

void runner::start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void runner::request_stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

void runner::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

void runner::pause() {
  {
    std::lock_guard lk(mu_);
    paused_ = true;
    status_.state = "PAUSED";
  }
  cv_.notify_all();
}

void runner::resume() {
  {
    std::lock_guard lk(mu_);
    paused_ = false;
    if (status_.state == "PAUSED") status_.state = "RUNNING";
  }
  cv_.notify_all();
}

void runner::restart() {
  {
    std::lock_guard lk(mu_);
    restart_ = true;
  }
  cv_.notify_all();
}

connector_status runner::status() const {
  std::lock_guard lk(mu_);
  return status_;
}

void runner::set_state(std::string s, std::string trace) {
  std::lock_guard lk(mu_);
  if (paused_ && s == "RUNNING") s = "PAUSED";
  status_.state = std::move(s);
  if (!trace.empty()) {
    status_.trace = std::move(trace);
    status_.last_error_ms = now_ms();
    ++status_.errors;
  }
}

void runner::moved(size_t n) {
  std::lock_guard lk(mu_);
  status_.records += n;
  status_.last_record_ms = now_ms();
}

bool runner::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, d, [&] { return stop_.load() || restart_.load(); });
  return running();
}

bool runner::wait_unpaused() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return !paused_.load() || stop_.load() || restart_.load(); });
  return running();
}

void runner::run() {
  auto backoff = o_.restart_backoff;
  while (!stop_) {
    restart_ = false;
    set_state(paused_ ? "PAUSED" : "RUNNING");
    auto began = std::chrono::steady_clock::now();
    auto r = kind_.type == connector_type::source ? run_source() : run_sink();
    if (stop_) break;
    if (restart_) {  // asked for: at once, with the error forgotten
      std::lock_guard lk(mu_);
      status_.trace.clear();
      ++status_.restarts;
      status_.state = "RESTARTING";
      backoff = o_.restart_backoff;
      continue;
    }
    std::string why = r ? "the task stopped" : r.error().message;
    spdlog::error("connector {}: {} (restarting in {} ms)", name_, why, backoff.count());
    set_state("FAILED", why);
    // A task that ran a while before it failed starts again from the shortest pause.
    if (std::chrono::steady_clock::now() - began > 4 * o_.max_restart_backoff)
      backoff = o_.restart_backoff;
    if (!sleep_for(backoff) && stop_) break;
    backoff = std::min(backoff * 2, o_.max_restart_backoff);
    std::lock_guard lk(mu_);
    ++status_.restarts;
    status_.state = "RESTARTING";
  }
  std::lock_guard lk(mu_);
  status_.state = "UNASSIGNED";
  finished_ = true;
}

// --- sources --------------------------------------------------------------------------------

result<void> runner::run_source() {
  auto task = kind_.make_source(config_);
  // Keys are ["name",PARTITION]: this connector's, by partition.
  std::map<std::string, std::string> offsets;
  std::string prefix = "[";
  append_json_string(prefix, name_);
  prefix += ',';
  for (const auto& [k, v] : offsets_.all())
    if (k.starts_with(prefix) && k.ends_with(']'))
      offsets[k.substr(prefix.size(), k.size() - prefix.size() - 1)] = v;
  if (auto r = task->start(offsets); !r) return r;
  struct out_topic {
    std::unique_ptr<stream::topic_sink> sink;
    bool written = false;
  };
  std::map<std::string, out_topic> topics;
  auto exactly_once = o_.io->transactions();
  std::vector<source_record> records;
  result<void> outcome;
  while (running()) {
    if (!wait_unpaused()) break;
    records.clear();
    if (auto r = task->poll(records, std::chrono::milliseconds(200)); !r) {
      outcome = r;
      break;
    }
    if (records.empty()) continue;
    std::map<std::string, std::string> moved_to;  // source partition -> offset
    std::vector<stream::topic_sink::header> headers;
    size_t written = 0;
    for (const auto& rec : records) {
      if (rec.topic.empty()) {  // a position only (a source that moved without records)
        if (!rec.source_partition.empty()) moved_to[rec.source_partition] = rec.source_offset;
        continue;
      }
      ++written;
      auto& t = topics[rec.topic];
      if (!t.sink) {
        stream::sink_options so;
        if (exactly_once) {
          so.mode = stream::delivery::exactly_once;
          so.transactional_id = "__sluice_connect_" + name_ + "." + rec.topic;
        }
        auto s = o_.io->open_sink(rec.topic, so);
        if (!s) return s.error();
        if (auto r = (*s)->recover(""); !r) return r;  // aborts what a crash left open
        t.sink = std::move(*s);
      }
      headers.clear();
      for (const auto& [k, v] : rec.headers)
        headers.emplace_back(k, v);
      if (auto r =
              t.sink->add(rec.key, rec.value, rec.timestamp ? rec.timestamp : now_ms(), headers);
          !r)
        return r;
      t.written = true;
      if (!rec.source_partition.empty()) moved_to[rec.source_partition] = rec.source_offset;
    }
    // Durable (and committed) in sluice first, then the offsets, then the source is told.
    for (auto& [name, t] : topics) {
      if (!t.written) continue;
      auto prepared = t.sink->prepare();
      if (!prepared) return prepared.error();
      if (auto r = t.sink->commit(); !r) return r;
      t.written = false;
    }
    std::vector<std::pair<std::string, std::optional<std::string>>> entries;
    for (const auto& [p, off] : moved_to)
      entries.emplace_back(offset_key(name_, p), off);
    if (auto r = offsets_.put(entries); !r) return r;
    if (written) moved(written);
    if (auto r = task->commit(moved_to); !r) {
      outcome = r;
      break;
    }
  }
  task->stop();
  return outcome;
}

// --- sinks ----------------------------------------------------------------------------------

result<void> runner::run_sink() {
  auto task = kind_.make_sink(config_);
  if (auto r = task->start(); !r) return r;
  auto r = setting(config_, "view").empty() ? sink_topics(*task) : sink_view(*task);
  task->stop();
  return r;
}

result<void> runner::sink_topics(sink_task& task) {
  struct input {
    std::string topic;
    std::unique_ptr<stream::topic_source> src;
    std::vector<int64_t> next;
  };
  auto wake = std::make_shared<stream::wakeup>();
  std::vector<input> inputs;
  for (const auto& t : list_setting(config_, "topics")) {
    auto src = o_.io->open_source(t, wake);
    if (!src) return make_error(src.error().code, "topic '" + t + "': " + src.error().message);
    input in{t, std::move(*src), {}};
    for (int32_t p = 0; p < in.src->partitions(); ++p) {
      int64_t from = in.src->start_offset(p);
      if (auto stored = offsets_.get(offset_key(name_, position_partition(t, p)))) {
        simdjson::dom::parser parser;
        int64_t off = 0;
        if (!parser.parse(*stored)["offset"].get(off)) from = std::max(from, off);
      }
      in.next.push_back(from);
    }
    inputs.push_back(std::move(in));
  }
  bytes chunk;
  std::vector<sink_record> records;
  while (running()) {
    if (!wait_unpaused()) break;
    records.clear();
    int64_t lag = 0;
    std::vector<std::pair<std::string, std::optional<std::string>>> positions;
    for (auto& in : inputs) {
      for (int32_t p = 0; p < in.src->partitions(); ++p) {
        auto& next = in.next[static_cast<size_t>(p)];
        auto after =
            in.src->for_each(p, next, 1 << 20, chunk,
                             [&](int64_t off, int64_t ts, std::optional<std::string_view> k,
                                 std::optional<std::string_view> v) {
                               sink_record r;
                               r.topic = in.topic;
                               r.partition = p;
                               r.offset = off;
                               r.timestamp = ts;
                               if (k) r.key = std::string(*k);
                               if (v) {
                                 std::optional<std::string> json;
                                 if (!v->empty() && (*v)[0] == '\0' && o_.framed_to_json)
                                   json = o_.framed_to_json(*v);
                                 r.value = json ? std::move(*json) : std::string(*v);
                               }
                               records.push_back(std::move(r));
                             });
        if (!after && after.error().code == errc::offset_out_of_range) {
          next = in.src->start_offset(p);  // retention removed what it had not read
          continue;
        }
        if (!after) return after.error();
        if (*after != next) {
          next = *after;
          positions.emplace_back(offset_key(name_, position_partition(in.topic, p)),
                                 position_offset(next));
        }
        lag += std::max<int64_t>(0, in.src->end_offset(p) - next);
      }
    }
    {
      std::lock_guard lk(mu_);
      status_.lag = lag;
    }
    if (records.empty()) {
      wake->wait(std::chrono::milliseconds(200));
      continue;
    }
    if (auto r = deliver(task, records); !r) return r;
    if (auto r = offsets_.put(positions); !r) return r;
  }
  return {};
}

result<void> runner::sink_view(sink_task& task) {
  std::string name = setting(config_, "view");
  auto v = o_.find_view ? o_.find_view(name) : nullptr;
  if (!v) return make_error(errc::invalid_argument, "no view '" + name + "'");
  std::mutex m;
  std::condition_variable changed;
  bool flag = false;
  auto sub = v->subscribe([&](const std::vector<view::change>&) {
    {
      std::lock_guard lk(m);
      flag = true;
    }
    changed.notify_one();
  });
  struct unsubscribe {
    view::view& v;
    uint64_t id;
    ~unsubscribe() { v.unsubscribe(id); }
  } guard{*v, sub};
  auto encode = [&](const stream::row& key, const stream::row* row, uint64_t seq) {
    sink_record r;
    r.topic = name;
    r.offset = static_cast<int64_t>(seq);
    r.timestamp = now_ms();
    r.key = key_text(key);
    if (row) {
      std::string json;
      stream::append_json_row(json, v->columns(), *row);
      r.value = std::move(json);
    }
    return r;
  };
  // The view's rows first (every start: upserts are idempotent), then its changes.
  uint64_t seq = 0;
  bool snapshot = true;
  std::vector<sink_record> records;
  std::vector<view::change> cs;
  while (running()) {
    if (!wait_unpaused()) break;
    if (auto why = v->ended()) return make_error(errc::invalid_argument, *why);
    records.clear();
    if (snapshot) {
      std::vector<stream::row> keys;
      auto rows = v->rows(&seq, &keys);
      for (size_t i = 0; i < rows.size(); ++i)
        records.push_back(encode(keys[i], &rows[i], seq));
      snapshot = false;
    } else {
      cs.clear();
      if (!v->changes_since(seq, cs, 4096)) {
        snapshot = true;  // the view's feed no longer holds what it missed
        continue;
      }
      for (const auto& c : cs)
        records.push_back(encode(c.key, c.k == view::change::kind::remove ? nullptr : &c.r, c.seq));
      if (!cs.empty()) seq = cs.back().seq;
    }
    if (records.empty()) {
      std::unique_lock lk(m);
      changed.wait_for(lk, std::chrono::milliseconds(200), [&] { return flag; });
      flag = false;
      continue;
    }
    if (auto r = deliver(task, records); !r) return r;
    std::lock_guard lk(mu_);
    status_.lag = static_cast<int64_t>(v->sequence() - seq);
  }
  return {};
}

result<void> runner::deliver(sink_task& task, const std::vector<sink_record>& records) {
  // Stopped or restarted before the records are in: not delivered, so no position is stored.
  auto interrupted = [] {
    return make_error(errc::shutting_down, "stopped before the records were delivered");
  };
  auto deadline = retry_for_.count() < 0 ? std::chrono::steady_clock::time_point::max()
                                         : std::chrono::steady_clock::now() + retry_for_;
  auto delay = std::chrono::milliseconds(100);
  error_info last;
  while (running()) {
    auto r = task.put(records);
    if (r) r = task.flush();
    if (r) {
      moved(records.size());
      return {};
    }
    last = r.error();
    {
      std::lock_guard lk(mu_);
      ++status_.errors;
      status_.last_error_ms = now_ms();
      status_.trace = last.message;
    }
    if (std::chrono::steady_clock::now() + delay > deadline) break;
    spdlog::warn("connector {}: {} (retrying in {} ms)", name_, last.message, delay.count());
    if (!sleep_for(delay)) return interrupted();
    delay = std::min(delay * 2, max_retry_delay_);
  }
  if (!running()) return interrupted();
  if (!tolerate_) return last;
  // One at a time: those that still fail go to the dead-letter topic.
  size_t ok = 0;
  for (const auto& rec : records) {
    auto r = task.put(std::span<const sink_record>(&rec, 1));
    if (r) r = task.flush();
    if (r) {
      ++ok;
      continue;
    }
    if (auto d = dead_letter(rec, r.error().message); !d) return d;
  }
  moved(ok);
  return {};
}

result<void> runner::dead_letter(const sink_record& r, const std::string& why) {
  std::string topic = setting(config_, "errors.deadletterqueue.topic.name", name_ + ".dlq");
  if (!dlq_) {
    auto s = o_.io->open_sink(topic);
    if (!s) return s.error();
    dlq_ = std::move(*s);
  }
  std::string partition = std::to_string(r.partition), offset = std::to_string(r.offset);
  // Kafka Connect's error context headers.
  std::vector<stream::topic_sink::header> headers = {
      {"__connect.errors.topic", r.topic},
      {"__connect.errors.partition", partition},
      {"__connect.errors.offset", offset},
      {"__connect.errors.connector.name", name_},
      {"__connect.errors.exception.class.name", "sluice.connect.SinkError"},
      {"__connect.errors.exception.message", why},
  };
  if (auto a = dlq_->add(r.key, r.value, r.timestamp, headers); !a) return a;
  if (auto f = dlq_->flush(); !f) return f;
  spdlog::warn("connector {}: a record of {} [{}] at {} to {}: {}", name_, r.topic, r.partition,
               r.offset, topic, why);
  std::lock_guard lk(mu_);
  ++status_.dead_lettered;
  return {};
}

}  // namespace sluice::connect
