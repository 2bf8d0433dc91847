#include "base/await_callback.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// EndTxn: answered once the commit or abort markers are durable in every partition of the
// transaction.
boost::asio::awaitable<void> handle_end_txn(request_context& ctx) {
  auto& in = ctx.in;
  auto id = in.string();
  group::producer_identity who;
  who.producer_id = in.i64();
  who.epoch = in.i16();
  bool commit = in.i8() != 0;
  in.tagged_fields();
  ctx.expect_end();

  error_code err = error_code::coordinator_not_available;
  if (!ctx.allowed(security::acl_operation::write, security::resource_type::transactional_id, id)) {
    err = error_code::transactional_id_authorization_failed;
  } else if (auto* txns = ctx.b.transactions) {
    auto e = co_await await_callback<errc>(
        [&](auto done) { txns->end_transaction(id, who, commit, std::move(done)); });
    err = to_kafka_txn(e, ctx.version >= 2);
  }
  ctx.out.i32(0);  // throttle_time_ms
  ctx.out.i16(code(err));
  ctx.out.tagged_fields();
}

}  // namespace sluice::kafka
