#include "kafka/server/frame.h"

#include "kafka/server/handlers/handlers.h"
#include "kafka/server/sasl_login.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <stdexcept>

#include "base/loop_watch.h"
#include "security/quotas.h"

namespace sluice::kafka {

bytes response::flatten() const {
  bytes out;
  out.reserve(size());
  size_t pos = 0;
  for (const auto& s : slices) {
    out.insert(out.end(), head.begin() + static_cast<long>(pos),
               head.begin() + static_cast<long>(s.at));
    out.resize(out.size() + s.data.len);
    if (auto r = s.data.copy_to(out.data() + out.size() - s.data.len); !r)
      throw std::runtime_error(r.error().message);
    pos = s.at;
  }
  out.insert(out.end(), head.begin() + static_cast<long>(pos), head.end());
  return out;
}

boost::asio::awaitable<std::optional<response>> process_frame(broker& b, bytes frame,
                                                              boost::asio::any_io_executor ex,
                                                              session& s) {
  reader hdr(frame);
  int16_t key = hdr.i16();
  auto started = std::chrono::steady_clock::now();
  auto& m = *b.metrics;
  size_t slot = static_cast<uint16_t>(key) < api_metrics::k_keys ? static_cast<size_t>(key) : 0;
  struct failure_count {
    std::atomic<uint64_t>& errors;
    bool done = false;
    ~failure_count() {
      if (!done) errors.fetch_add(1, std::memory_order_relaxed);
    }
  } failed{m.errors[slot]};
  int16_t version = hdr.i16();
  int32_t correlation_id = hdr.i32();
  std::string client_id = hdr.legacy_nullable_string_or_empty();

  bytes resp;
  resp.reserve(256);
  writer w(resp);
  w.i32(0);  // size, patched below
  w.i32(correlation_id);

  const api_spec* spec = find_api(key);
  if (!spec) throw decode_error("unsupported API key " + std::to_string(key));
  if (!s.authenticated && spec->key != api_key::api_versions &&
      spec->key != api_key::sasl_handshake && spec->key != api_key::sasl_authenticate)
    throw decode_error(std::string(spec->name) + " request before SASL authentication");
  if (version < spec->min_version || version > spec->max_version) {
    if (spec->key != api_key::api_versions)
      throw decode_error(std::string("unsupported ") + spec->name + " version " +
                         std::to_string(version) + " (supported " +
                         std::to_string(spec->min_version) + "-" +
                         std::to_string(spec->max_version) + ")");
    // A client newer than us: answer in v0 with the versions we have, so it can retry.
    write_api_versions_fallback(w);
    w.patch_i32(0, static_cast<int32_t>(resp.size() - 4));
    failed.done = true;
    m.requests[slot].fetch_add(1, std::memory_order_relaxed);
    co_return response{std::move(resp), {}};
  }
  bool flexible = version >= spec->first_flexible;
  if (flexible) {
    hdr.set_flexible(true);
    hdr.tagged_fields();
    w.set_flexible(true);
    // ApiVersions keeps response header v0 even in flexible versions, so that any client can
    // read it before it knows our versions.
    if (spec->key != api_key::api_versions) w.tagged_fields();
  }
  request_context ctx{b,
                      spec->key,
                      version,
                      correlation_id,
                      std::move(client_id),
                      reader(bytes_view(frame).subspan(hdr.position()), flexible),
                      std::move(w),
                      std::move(ex),
                      s};
  loop_watch::doing(spec->name);
  co_await spec->handle(ctx);
  failed.done = true;
  m.requests[slot].fetch_add(1, std::memory_order_relaxed);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  m.latency[slot].observe(took);
  std::chrono::milliseconds mute{0};
  if (auto* q = b.config.security.quotas.get()) {
    // Quotas: the request's bytes (produce), the response's (fetch), and its handling time;
    // the longest wait wins and is told to the client in throttle_time_ms. A client of a
    // version that waits it out itself (KIP-219) is answered at once and its connection muted
    // for that long; an older one gets the answer that much later. Either way a client that
    // ignores throttle_time_ms is slowed all the same.
    std::string_view user = std::string_view(s.principal).substr(5);  // after "User:"
    auto wait = q->record(security::quota_manager::kind::request, user, ctx.client_id, took);
    if (spec->key == api_key::produce)
      wait = std::max(wait, q->record(security::quota_manager::kind::produce, user, ctx.client_id,
                                      static_cast<double>(frame.size())));
    if (spec->key == api_key::fetch) {
      size_t n = resp.size();
      for (const auto& sl : ctx.slices)
        n += sl.data.len;
      wait = std::max(wait, q->record(security::quota_manager::kind::fetch, user, ctx.client_id,
                                      static_cast<double>(n)));
    }
    if (wait.count() > 0) {
      if (ctx.throttle_at != SIZE_MAX)
        store_be32(resp.data() + ctx.throttle_at, static_cast<uint32_t>(wait.count()));
      if (spec->client_throttles >= 0 && version >= spec->client_throttles) {
        mute = wait;
      } else {
        boost::asio::steady_timer t(ctx.executor, wait);
        boost::system::error_code ec;
        co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      }
    }
  }
  if (!ctx.send_response) co_return std::nullopt;
  response r{std::move(resp), std::move(ctx.slices), ctx.close_after, mute};
  store_be32(r.head.data(), static_cast<uint32_t>(r.size() - 4));
  co_return r;
}

boost::asio::awaitable<response> process_raw_sasl_token(broker& b, bytes token,
                                                        boost::asio::any_io_executor ex,
                                                        session& s) {
  std::string_view text(reinterpret_cast<const char*>(token.data()), token.size());
  auto r = co_await sasl_login_step(b, s, text, std::move(ex));
  response out;
  // A failure has no token form here: Kafka closes the connection without an answer.
  if (r.error != error_code::none) {
    out.close_after = true;
    co_return out;
  }
  out.head.resize(4 + r.reply.size());
  store_be32(out.head.data(), static_cast<uint32_t>(r.reply.size()));
  std::copy(r.reply.begin(), r.reply.end(), out.head.begin() + 4);
  co_return out;
}

}  // namespace sluice::kafka
