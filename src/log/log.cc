#include "log/log.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <fstream>
#include <random>
#include <sstream>

#include "base/clock.h"
#include "base/file.h"
#include "log/flusher.h"
#include "log/segment_format.h"

namespace sluice::log {

namespace fs = std::filesystem;
using namespace format;

namespace {

constexpr int64_t k_pid_block = 1000;

std::string hex(const topic_id& id) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t b : id) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

std::optional<topic_id> parse_hex(std::string_view s) {
  if (s.size() != 32) return std::nullopt;
  topic_id id{};
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < 16; ++i) {
    int hi = nib(s[2 * i]), lo = nib(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

topic_id random_id() {
  std::random_device rd;
  topic_id id{};
  for (auto& b : id)
    b = static_cast<uint8_t>(rd());
  return id;
}

}  // namespace

// ---- topic ----

int32_t topic::partition_count() const {
  std::shared_lock lk(mu_);
  return static_cast<int32_t>(partitions_.size());
}

std::shared_ptr<partition> topic::get(int32_t index) const {
  std::shared_lock lk(mu_);
  if (index < 0 || index >= static_cast<int32_t>(partitions_.size())) return nullptr;
  return partitions_[static_cast<size_t>(index)];
}

std::vector<std::shared_ptr<partition>> topic::partitions() const {
  std::shared_lock lk(mu_);
  return partitions_;
}

topic_config topic::config() const {
  std::shared_lock lk(mu_);
  return config_;
}

std::map<std::string, std::string> topic::overrides() const {
  std::shared_lock lk(mu_);
  return overrides_;
}

// REQUIRES: mu_ held (shared or exclusive).
result<void> topic::write_meta() const {
  std::ostringstream out;
  out << "id=" << hex(id_) << "\npartitions=" << partitions_.size() << "\n";
  for (const auto& [k, v] : overrides_)
    out << "config." << k << "=" << v << "\n";
  auto s = out.str();
  return write_file_atomic(dir_ / k_topic_meta_file, as_bytes(s));
}

// ---- sync_batch ----

class flusher_batch_holder {
 public:
  explicit flusher_batch_holder(flusher* f) : b(f) {}
  flusher::batch b;
};

sync_batch::sync_batch(log& l) : b_(std::make_unique<flusher_batch_holder>(l.flusher_.get())) {}
sync_batch::~sync_batch() = default;

// ---- log ----

log::log(log_options options) : options_(std::move(options)) {}

bool log::valid_topic_name(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

const metrics::histogram& log::sync_latency() const {
  return flusher_->sync_latency();
}

void log::guard(const topic& t, partition& p) const {
  if (!t.name().starts_with("__")) p.guard_space(space_.get());
}

result<std::unique_ptr<log>> log::open(log_options options) {
  std::unique_ptr<log> l(new log(std::move(options)));
  if (auto r = l->load(); !r) return r.error();
  return l;
}

result<void> log::load() {
  std::error_code ec;
  bool fresh = !fs::exists(options_.data_dir / "topics");
  fs::create_directories(options_.data_dir / "topics", ec);
  if (ec)
    return make_error(errc::io_error, "create " + options_.data_dir.string() + ": " + ec.message());
  auto marker = options_.data_dir / k_clean_shutdown_file;
  started_clean_ = fresh || fs::exists(marker);
  space_ = std::make_unique<space_guard>(options_.data_dir, options_.space);
  flusher_ = std::make_unique<flusher>(
      options_.flush_threads, options_.data_dir,
      options_.sync_filesystem ? flusher::strategy::filesystem : flusher::strategy::files);

  if (auto data = read_file(options_.data_dir / k_producer_ids_file); data && data->size() == 8)
    next_pid_ = static_cast<int64_t>(load_be64(data->data()));
  pid_limit_ = next_pid_;

  for (const auto& e : fs::directory_iterator(options_.data_dir / "topics", ec)) {
    if (!e.is_directory()) continue;
    auto name = e.path().filename().string();
    if (name.starts_with(".deleted-")) {
      fs::remove_all(e.path(), ec);
      continue;
    }
    auto t = load_topic(e.path());
    if (!t) return t.error();
    topics_.emplace((*t)->name(), std::move(*t));
  }
  // From here on a crash is an unclean stop.
  fs::remove(marker, ec);
  if (auto r = sync_dir(options_.data_dir); !r) return r;
  retention_thread_ = std::thread([this] { retention_loop(); });
  spdlog::info("log: opened {} with {} topics ({})", options_.data_dir.string(), topics_.size(),
               fresh            ? "new"
               : started_clean_ ? "clean start"
                                : "recovered after an unclean stop");
  return {};
}

result<std::shared_ptr<topic>> log::load_topic(const fs::path& dir) {
  auto meta = read_file(dir / k_topic_meta_file);
  if (!meta) return meta.error();
  std::istringstream in(std::string(meta->begin(), meta->end()));
  std::string line;
  std::optional<topic_id> id;
  int32_t count = 0;
  std::map<std::string, std::string> overrides;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "id") {
      id = parse_hex(value);
    } else if (key == "partitions") {
      count = std::stoi(value);
    } else if (key.starts_with("config.")) {
      overrides[key.substr(7)] = value;
    }
  }
  if (!id || count <= 0)
    return make_error(errc::io_error, "unreadable " + (dir / k_topic_meta_file).string());
  auto cfg = topic_config::with_overrides(options_.defaults, overrides);
  if (!cfg) return cfg.error();
  std::shared_ptr<topic> t(new topic(dir.filename().string(), *id, dir));
  t->overrides_ = std::move(overrides);
  t->config_ = *cfg;
  for (int32_t i = 0; i < count; ++i) {
    auto p = partition::open(dir / std::to_string(i), model::partition_id(i), *cfg, started_clean_,
                             flusher_.get());
    if (!p) return p.error();
    guard(*t, **p);
    t->partitions_.push_back(std::move(*p));
  }
  return t;
}

result<std::shared_ptr<topic>> log::create_topic(
    std::string_view name, int32_t partitions, const std::map<std::string, std::string>& configs) {
  if (!valid_topic_name(name))
    return make_error(errc::invalid_topic,
                      "topic name '" + std::string(name) +
                          "' is illegal: use 1-249 characters of [a-zA-Z0-9._-]");
  if (partitions <= 0 || partitions > options_.max_partitions)
    return make_error(errc::invalid_partitions, "partition count must be between 1 and " +
                                                    std::to_string(options_.max_partitions) +
                                                    ", got " + std::to_string(partitions));
  auto cfg = topic_config::with_overrides(options_.defaults, configs);
  if (!cfg) return cfg.error();

  std::unique_lock lk(mu_);
  if (topics_.contains(name))
    return make_error(errc::topic_exists, "topic '" + std::string(name) + "' already exists");
  auto dir = options_.data_dir / "topics" / std::string(name);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(errc::io_error, "create " + dir.string() + ": " + ec.message());
  std::shared_ptr<topic> t(new topic(std::string(name), random_id(), dir));
  t->overrides_ = configs;
  t->config_ = *cfg;
  for (int32_t i = 0; i < partitions; ++i) {
    auto p = partition::open(dir / std::to_string(i), model::partition_id(i), *cfg, true,
                             flusher_.get());
    if (!p) return p.error();
    guard(*t, **p);
    t->partitions_.push_back(std::move(*p));
  }
  if (auto r = t->write_meta(); !r) return r.error();
  if (auto r = sync_dir(dir.parent_path()); !r) return r.error();
  topics_.emplace(std::string(name), t);
  spdlog::info("log: created topic {} with {} partitions", name, partitions);
  return t;
}

result<void> log::delete_topic(std::string_view name) {
  std::shared_ptr<topic> t;
  {
    std::unique_lock lk(mu_);
    auto it = topics_.find(name);
    if (it == topics_.end())
      return make_error(errc::unknown_topic, "topic '" + std::string(name) + "' does not exist");
    t = it->second;
    topics_.erase(it);
  }
  for (auto& p : t->partitions())
    p->mark_deleted();
  auto graveyard = options_.data_dir / "topics" / (".deleted-" + t->name() + "-" + hex(t->id()));
  std::error_code ec;
  fs::rename(t->dir_, graveyard, ec);
  if (ec) return make_error(errc::io_error, "rename " + t->dir_.string() + ": " + ec.message());
  (void)sync_dir(options_.data_dir / "topics");
  fs::remove_all(graveyard, ec);
  spdlog::info("log: deleted topic {}", name);
  return {};
}

result<void> log::create_partitions(std::string_view name, int32_t total) {
  auto t = find_topic(name);
  if (!t)
    return make_error(errc::unknown_topic, "topic '" + std::string(name) + "' does not exist");
  std::unique_lock lk(t->mu_);
  auto current = static_cast<int32_t>(t->partitions_.size());
  if (total <= current || total > options_.max_partitions)
    return make_error(errc::invalid_partitions,
                      "topic '" + std::string(name) + "' has " + std::to_string(current) +
                          " partitions; the new count must be larger, got " +
                          std::to_string(total));
  for (int32_t i = current; i < total; ++i) {
    auto p = partition::open(t->dir_ / std::to_string(i), model::partition_id(i), t->config_, true,
                             flusher_.get());
    if (!p) return p.error();
    guard(*t, **p);
    t->partitions_.push_back(std::move(*p));
  }
  return t->write_meta();
}

result<void> log::set_topic_config(std::string_view name,
                                   const std::map<std::string, std::string>& overrides) {
  auto t = find_topic(name);
  if (!t)
    return make_error(errc::unknown_topic, "topic '" + std::string(name) + "' does not exist");
  auto cfg = topic_config::with_overrides(options_.defaults, overrides);
  if (!cfg) return cfg.error();
  std::unique_lock lk(t->mu_);
  t->overrides_ = overrides;
  t->config_ = *cfg;
  for (auto& p : t->partitions_)
    p->set_config(*cfg);
  return t->write_meta();
}

std::shared_ptr<topic> log::find_topic(std::string_view name) const {
  std::shared_lock lk(mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<topic>> log::topics() const {
  std::shared_lock lk(mu_);
  std::vector<std::shared_ptr<topic>> out;
  for (const auto& [n, t] : topics_)
    out.push_back(t);
  return out;
}

int64_t log::allocate_producer_id() {
  std::lock_guard lk(pid_mu_);
  if (next_pid_ >= pid_limit_) {
    // Reserve a block on disk before handing out any id of it.
    uint8_t buf[8];
    store_be64(buf, static_cast<uint64_t>(next_pid_ + k_pid_block));
    if (auto r = write_file_atomic(options_.data_dir / k_producer_ids_file, bytes_view(buf, 8)); !r)
      spdlog::error("log: cannot persist producer ids: {}", r.error().message);
    pid_limit_ = next_pid_ + k_pid_block;
  }
  return next_pid_++;
}

void log::retention_loop() {
  std::unique_lock lk(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lk, options_.retention_check_interval, [this] { return stopping_; });
    if (stopping_) break;
    lk.unlock();
    int64_t now = now_ms();
    for (auto& t : topics()) {
      for (auto& p : t->partitions()) {
        if (auto r = p->compact(now); !r)
          spdlog::warn("log: compacting {}-{}: {}", t->name(), p->id().value(), r.error().message);
        p->enforce_retention(now);
      }
    }
    lk.lock();
  }
}

void log::close() {
  {
    std::lock_guard lk(stop_mu_);
    if (closed_) return;
    closed_ = true;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (retention_thread_.joinable()) retention_thread_.join();
  flusher_.reset();  // finishes pending group commits
  bool ok = true;
  for (auto& t : topics()) {
    for (auto& p : t->partitions()) {
      if (auto r = p->close(); !r) {
        spdlog::error("log: closing {}-{}: {}", t->name(), p->id().value(), r.error().message);
        ok = false;
      }
    }
  }
  if (ok) {
    auto marker = options_.data_dir / k_clean_shutdown_file;
    if (write_file_atomic(marker, bytes_view())) spdlog::info("log: clean shutdown");
  }
}

log::~log() {
  close();
}

}  // namespace sluice::log
