#include "http/durable_append.h"

#include "log/log.h"
#include "log/partition.h"

namespace sluice::http {

namespace asio = boost::asio;

boost::asio::awaitable<durable_append_result> append_durably(
    log::topic& topic, std::map<int32_t, log::batch_builder>& batches, int64_t timestamp) {
  struct wait_state {
    explicit wait_state(asio::any_io_executor ex)
        : timer(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer timer;
    int pending = 0;
    std::string failure;
  };
  durable_append_result out;
  auto ex = co_await asio::this_coro::executor;
  auto wait = std::make_shared<wait_state>(ex);
  for (auto& [p, b] : batches) {
    auto part = topic.get(p);
    if (!part) {
      out.append_error = errc::unknown_topic;
      out.message = "no partition " + std::to_string(p);
      break;
    }
    auto data = b.build();
    auto r = part->append(data, timestamp);
    if (!r) {
      out.append_error = r.code();
      out.message = r.error().message;
      break;
    }
    out.base_offsets[p] = r->base_offset();
    ++wait->pending;
    part->when_durable(r->last_offset, [wait, ex](result<void> done) {
      asio::post(ex, [wait, done = std::move(done)] {
        if (!done && wait->failure.empty()) wait->failure = done.error().message;
        if (--wait->pending == 0) wait->timer.cancel();
      });
    });
  }
  // Even after a failed append, wait for what was written before answering.
  while (wait->pending > 0)
    co_await wait->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!wait->failure.empty() && out.append_error == errc::ok) {
    out.sync_failed = true;
    out.message = "not made durable: " + wait->failure;
  }
  co_return out;
}

}  // namespace sluice::http
