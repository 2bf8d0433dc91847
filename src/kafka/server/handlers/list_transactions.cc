#include <algorithm>

#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

namespace {
constexpr const char* k_states[] = {"Empty",        "Ongoing",          "PrepareCommit",
                                    "PrepareAbort", "CompleteCommit",   "CompleteAbort",
                                    "Dead",         "PrepareEpochFence"};
}

// ListTransactions, filtered by state and producer id; states this broker does not know are
// listed back as unknown (DurationFilter, v1, is read and ignored).
boost::asio::awaitable<void> handle_list_transactions(request_context& ctx) {
  auto& in = ctx.in;
  std::vector<std::string> states;
  int32_t ns = in.array_len();
  for (int32_t i = 0; i < ns; ++i)
    states.push_back(in.string());
  std::vector<int64_t> producers;
  int32_t np = in.array_len(8);
  for (int32_t i = 0; i < np; ++i)
    producers.push_back(in.i64());
  if (ctx.version >= 1) in.i64();  // duration_filter
  in.tagged_fields();
  ctx.expect_end();

  std::vector<std::string> unknown;
  for (const auto& s : states)
    if (std::find(std::begin(k_states), std::end(k_states), s) == std::end(k_states))
      unknown.push_back(s);
  std::vector<group::transaction_overview> txns;
  if (ctx.b.transactions) txns = ctx.b.transactions->list(states, producers);
  std::erase_if(txns, [&](const auto& t) {
    return !ctx.allowed(security::acl_operation::describe,
                        security::resource_type::transactional_id, t.transactional_id);
  });

  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  out.i16(code(ctx.b.transactions ? error_code::none : error_code::coordinator_not_available));
  out.array_len(unknown.size());
  for (const auto& s : unknown)
    out.string(s);
  out.array_len(txns.size());
  for (const auto& t : txns) {
    out.string(t.transactional_id);
    out.i64(t.producer_id);
    out.string(t.state);
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
