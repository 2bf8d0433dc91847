#include "base/await_callback.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// Idempotent producers get a fresh producer id (persisted, never reused) or, when they ask to
// bump the epoch of the one they have (KIP-360), the same id with the next epoch.
// Transactional producers get their transactional id's producer id with a new epoch from the
// transaction coordinator, which fences older instances and aborts what they left open.
boost::asio::awaitable<void> handle_init_producer_id(request_context& ctx) {
  auto& in = ctx.in;
  auto& out = ctx.out;
  auto transactional_id = in.nullable_string();
  int32_t timeout_ms = in.i32();
  group::producer_identity p;
  if (ctx.version >= 3) {
    p.producer_id = in.i64();
    p.epoch = in.i16();
  }
  in.tagged_fields();
  ctx.expect_end();

  error_code err = error_code::none;
  using security::acl_operation;
  if (transactional_id &&
      !ctx.allowed(acl_operation::write, security::resource_type::transactional_id,
                   *transactional_id)) {
    err = error_code::transactional_id_authorization_failed;
    p = {};
  } else if (!transactional_id && ctx.b.config.security.authorizer &&
             !ctx.allowed_on_cluster(acl_operation::idempotent_write) &&
             !ctx.b.config.security.authorizer->allowed_any(
                 ctx.session.principal, ctx.session.client_host, acl_operation::write,
                 security::resource_type::topic)) {
    // An idempotent producer needs IDEMPOTENT_WRITE on the cluster, or WRITE on some topic.
    err = error_code::cluster_authorization_failed;
    p = {};
  } else if (transactional_id) {
    if (!ctx.b.transactions) {
      err = error_code::coordinator_not_available;
      p = {};
    } else {
      auto* txns = ctx.b.transactions;
      auto r = co_await await_callback<group::init_producer_result>([&](auto done) {
        txns->init_producer(*transactional_id, timeout_ms, p, std::move(done));
      });
      err = to_kafka_txn(r.error, ctx.version >= 4);
      p = r.producer;
    }
  } else if (p.producer_id >= 0 && p.epoch >= 0 && p.epoch < INT16_MAX - 1) {
    ++p.epoch;
  } else {
    p.producer_id = ctx.b.log.allocate_producer_id();
    p.epoch = 0;
  }
  out.i32(0);  // throttle_time_ms
  out.i16(code(err));
  out.i64(p.producer_id);
  out.i16(p.epoch);
  out.tagged_fields();
}

}  // namespace sluice::kafka
