#include "http/durable_append.h"

#include "base/all_done.h"
#include "base/await_callback.h"
#include "log/log.h"
#include "log/partition.h"

namespace sluice::http {

boost::asio::awaitable<durable_append_result> append_durably(
    log::topic& topic, std::map<int32_t, log::batch_builder>& batches, int64_t timestamp) {
  durable_append_result out;
  auto synced = co_await await_callback<result<void>>([&](auto done) {
    auto join = all_done::start(std::move(done));
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
      part->when_durable(r->last_offset, join->part());
    }
    // Even after a failed append, what was written before is waited for before answering.
    join->seal();
  });
  if (!synced && out.append_error == errc::ok) {
    out.sync_failed = true;
    out.message = "not made durable: " + synced.error().message;
  }
  co_return out;
}

}  // namespace sluice::http
