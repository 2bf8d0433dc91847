#include "queue/manager.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <future>
#include <sstream>

#include "base/all_done.h"
#include "base/clock.h"
#include "base/file.h"
#include "log/log.h"
#include "log/partition.h"
#include "log/records.h"

namespace sluice::queue {

namespace {

result<void> write_text(const std::filesystem::path& p, const std::string& text) {
  return write_file_atomic(p, as_bytes(text));
}

// Dead-letter offsets already replayed, one "partition offset" line each.
std::map<int32_t, int64_t> read_positions(const std::filesystem::path& p) {
  std::map<int32_t, int64_t> out;
  auto data = read_file(p);
  if (!data) return out;
  std::istringstream in(std::string(data->begin(), data->end()));
  int32_t part = 0;
  int64_t off = 0;
  while (in >> part >> off)
    out[part] = off;
  return out;
}

}  // namespace

manager::manager(log::log& log, std::filesystem::path dir) : log_(log), dir_(std::move(dir)) {}

result<std::unique_ptr<manager>> manager::open(log::log& log, std::filesystem::path dir) {
  std::unique_ptr<manager> m(new manager(log, dir));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(errc::io_error, "cannot create " + dir.string() + ": " + ec.message());
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_directory()) continue;
    auto text = read_file(entry.path() / "settings.json");
    if (!text) continue;
    auto s = settings_from_json(
        std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
    if (!s) {
      spdlog::error("queue at {}: {}", entry.path().string(), s.error().message);
      continue;
    }
    auto q = queue::open(log, *s, entry.path() / "state");
    if (!q) return q.error();
    m->queues_.emplace(s->name, std::move(*q));
  }
  if (!m->queues_.empty()) spdlog::info("queues: opened {}", m->queues_.size());
  m->ticker_ = std::thread([p = m.get()] { p->run(); });
  return m;
}

manager::~manager() {
  stop_ = true;
  if (ticker_.joinable()) ticker_.join();
  std::lock_guard lk(mu_);
  queues_.clear();
}

void manager::run() {
  while (!stop_) {
    for (const auto& q : list())
      q->tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

result<std::shared_ptr<queue>> manager::create(const queue_settings& s, int32_t partitions) {
  std::lock_guard lk(mu_);
  if (queues_.count(s.name))
    return make_error(errc::topic_exists, "queue '" + s.name + "' already exists");
  if (partitions < 1 || partitions > 10'000)
    return make_error(errc::invalid_config, "partitions must be 1..10000");
  if (!log_.find_topic(s.name)) {
    auto t = log_.create_topic(s.name, partitions, {});
    if (!t) return t.error();
  }
  if (!log_.find_topic(s.dlq())) {
    auto t = log_.create_topic(s.dlq(), 1, {});
    if (!t) return t.error();
  }
  auto folder = dir_ / s.name;
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec)
    return make_error(errc::io_error, "cannot create " + folder.string() + ": " + ec.message());
  auto q = queue::open(log_, s, folder / "state");
  if (!q) return q.error();
  if (auto w = write_text(folder / "settings.json", to_json(s)); !w) return w.error();
  queues_.emplace(s.name, *q);
  return *q;
}

std::shared_ptr<queue> manager::find(std::string_view name) const {
  std::lock_guard lk(mu_);
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<queue>> manager::list() const {
  std::lock_guard lk(mu_);
  std::vector<std::shared_ptr<queue>> out;
  for (const auto& [n, q] : queues_)
    out.push_back(q);
  return out;
}

result<void> manager::drop(std::string_view name) {
  std::shared_ptr<queue> q;
  {
    std::lock_guard lk(mu_);
    auto it = queues_.find(name);
    if (it == queues_.end())
      return make_error(errc::unknown_topic, "no queue '" + std::string(name) + "'");
    q = std::move(it->second);
    queues_.erase(it);
  }
  q.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_ / std::string(name), ec);
  if (ec) return make_error(errc::io_error, ec.message());
  return {};
}

result<int64_t> manager::replay_dead_letters(std::string_view name, int64_t max) {
  auto q = find(name);
  if (!q) return make_error(errc::unknown_topic, "no queue '" + std::string(name) + "'");
  auto topic = log_.find_topic(q->settings().name);
  auto dlq = log_.find_topic(q->settings().dlq());
  if (!topic || !dlq) return make_error(errc::unknown_topic, "the queue's topics are gone");
  auto pos_file = dir_ / std::string(name) / "dlq_replayed";
  auto positions = read_positions(pos_file);
  std::map<int32_t, log::batch_builder> out;  // by target partition
  int64_t n = 0;
  int64_t now = now_ms();
  for (const auto& part : dlq->partitions()) {
    int32_t p = part->id()();
    int64_t from = std::max(positions[p], part->log_start()());
    int64_t end = part->high_watermark()();
    while (from < end && n < max) {
      auto rr = part->read(model::offset(from), 1 << 20);
      if (!rr) return rr.error();
      if (rr->len == 0) break;
      bytes buf(rr->len);
      if (auto c = rr->copy_to(buf.data()); !c) return c.error();
      int64_t next = from;
      auto r = log::for_each_record_from(buf, from, [&](const log::record_view& rv) {
        if (n >= max) return;
        std::vector<std::pair<std::string, std::string>> hs;
        int32_t target = -1;
        (void)log::for_each_header(rv, [&](std::string_view k, std::optional<bytes_view> v) {
          std::string val =
              v ? std::string(reinterpret_cast<const char*>(v->data()), v->size()) : std::string();
          if (k == "sluice.partition") std::from_chars(val.data(), val.data() + val.size(), target);
          if (!k.starts_with("sluice.")) hs.emplace_back(std::string(k), std::move(val));
        });
        if (target < 0 || target >= topic->partition_count())
          target = static_cast<int32_t>(n % topic->partition_count());
        std::vector<std::pair<std::string_view, bytes_view>> hv;
        for (const auto& [k, v] : hs)
          hv.emplace_back(k, as_bytes(v));
        out[target].add(rv.key, rv.value, now, hv);
        ++n;
        next = rv.offset + 1;
      });
      if (!r) return r.error();
      if (n < max) next = std::max(next, *r);  // the whole chunk, control batches included
      if (next == from) break;
      from = next;
    }
    positions[p] = from;
  }
  // Append and wait for the disk before recording how far the replay got.
  std::promise<result<void>> durable;
  auto synced = durable.get_future();
  result<void> appended;
  {
    auto join = all_done::start([&durable](result<void> r) { durable.set_value(std::move(r)); });
    for (auto& [tp, b] : out) {
      auto part = topic->get(tp);
      auto batch = b.build();
      auto r = part->append(std::span<uint8_t>(batch.data(), batch.size()), now);
      if (!r) {
        appended = r.error();
        break;
      }
      part->when_durable(r->last_offset, join->part());
    }
    join->seal();
  }
  if (auto r = synced.get(); !r) return r.error();
  if (!appended) return appended.error();
  std::string text;
  for (const auto& [p, o] : positions)
    text += std::to_string(p) + " " + std::to_string(o) + "\n";
  if (auto w = write_text(pos_file, text); !w) return w.error();
  return n;
}

}  // namespace sluice::queue
