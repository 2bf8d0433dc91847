#include "cluster/catalog_log.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <mutex>

#include "cluster/client.h"

namespace sluice::cluster {

struct catalog_log::impl {
  impl(kafka_io& i, std::string t) : io(i), topic(std::move(t)) {}

  kafka_io& io;
  std::string topic;
  kafka_handle producer;
  std::mutex append_mu;
  kafka_handle consumer;
  std::function<void(int64_t, const std::string&)> apply;
  std::thread follower;
  std::atomic<bool> stopping{false};

  using outcome = std::shared_ptr<std::promise<result<int64_t>>>;

  // Each message's delivery report fulfils the promise it carries (and frees its hold on it:
  // a report that comes after append() gave up finds it still alive).
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    std::unique_ptr<outcome> done(static_cast<outcome*>(m->_private));
    if (!done) return;
    if (m->err)
      (*done)->set_value(kafka_error("appending to the catalog", m->err));
    else
      (*done)->set_value(m->offset);
  }

  // Reads what is there and hands it to `apply`; returns the offset after the last record, or
  // -1 when none came within `wait_ms`.
  int64_t poll(int wait_ms) {
    message_ptr m(rd_kafka_consumer_poll(consumer.get(), wait_ms));
    if (!m) return -1;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        spdlog::warn("reading the catalog {}: {}", topic, rd_kafka_message_errstr(m.get()));
      return -1;
    }
    std::string text(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
    apply(m->offset, text);
    return m->offset + 1;
  }
};

catalog_log::catalog_log(kafka_io& io, std::string topic)
    : impl_(std::make_unique<impl>(io, std::move(topic))) {}

catalog_log::~catalog_log() {
  stop();
}

result<std::unique_ptr<catalog_log>> catalog_log::open(kafka_io& io, std::string topic) {
  if (!io.topic_exists(topic)) {
    auto r = io.create_topic(
        topic, 1,
        {{"cleanup.policy", "delete"}, {"retention.ms", "-1"}, {"retention.bytes", "-1"}});
    if (!r && r.code() != errc::topic_exists) return r.error();
  }
  std::unique_ptr<catalog_log> log(new catalog_log(io, std::move(topic)));
  auto p = make_client(io.options(), RD_KAFKA_PRODUCER,
                       {{"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "0"}},
                       [](rd_kafka_conf_t* c, void*) {
                         rd_kafka_conf_set_dr_msg_cb(c, &catalog_log::impl::on_delivery);
                       });
  if (!p) return p.error();
  log->impl_->producer = std::move(*p);
  return log;
}

result<int64_t> catalog_log::append(const std::string& statement) {
  std::lock_guard lk(impl_->append_mu);
  auto done = std::make_shared<std::promise<result<int64_t>>>();
  auto f = done->get_future();
  auto hold = std::make_unique<impl::outcome>(done);
  auto err =
      rd_kafka_producev(impl_->producer.get(), RD_KAFKA_V_TOPIC(impl_->topic.c_str()),
                        RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_VALUE(const_cast<char*>(statement.data()), statement.size()),
                        RD_KAFKA_V_OPAQUE(hold.get()), RD_KAFKA_V_END);
  if (err) return kafka_error("appending to the catalog", err);
  hold.release();  // the delivery report's now
  rd_kafka_flush(impl_->producer.get(), k_timeout_ms * 3);
  if (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    return make_error(errc::io_error, "appending to the catalog: timed out");
  return f.get();
}

result<void> catalog_log::follow(std::function<void(int64_t, const std::string&)> apply) {
  auto& m = *impl_;
  m.apply = std::move(apply);
  auto c = open_reader(m.io.options(), m.topic, {0}, {{"fetch.wait.max.ms", "100"}});
  if (!c) return c.error();
  m.consumer = std::move(*c);
  int64_t lo = 0, end = 0;
  if (auto err = rd_kafka_query_watermark_offsets(m.consumer.get(), m.topic.c_str(), 0, &lo, &end,
                                                  k_timeout_ms))
    return kafka_error("the end of the catalog " + m.topic, err);
  // What is there now is applied before the process says it is ready.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int64_t next = lo; next < end;) {
    if (std::chrono::steady_clock::now() > deadline)
      return make_error(errc::io_error, "reading the catalog " + m.topic + ": timed out at " +
                                            std::to_string(next) + " of " + std::to_string(end));
    next = std::max(next, m.poll(100));
  }
  m.follower = std::thread([&m] {
    while (!m.stopping)
      m.poll(100);
  });
  return {};
}

void catalog_log::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  if (impl_->follower.joinable()) impl_->follower.join();
  destroy_reader(std::move(impl_->consumer));
}

}  // namespace sluice::cluster
