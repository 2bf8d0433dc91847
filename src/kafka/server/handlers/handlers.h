#pragma once
// The registry of supported APIs: one line per API, looked up by key. Adding an API is adding
// one handler file and one line in handlers.cc.

#include <boost/asio/awaitable.hpp>
#include <span>

#include "kafka/protocol/error_code.h"
#include "kafka/server/request_context.h"

namespace sluice::kafka {

using handler_fn = boost::asio::awaitable<void> (*)(request_context&);

struct api_spec {
  api_key key;
  const char* name;
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible;  // first version using compact types and tagged fields
  // First version whose client waits out throttle_time_ms itself (KIP-219): a throttled request
  // of that version is answered at once and the connection reads nothing more meanwhile; earlier
  // versions (and -1: none) get their answer late instead.
  int16_t client_throttles;
  handler_fn handle;
};

std::span<const api_spec> supported_apis();
const api_spec* find_api(int16_t key);

boost::asio::awaitable<void> handle_api_versions(request_context& ctx);
boost::asio::awaitable<void> handle_metadata(request_context& ctx);
boost::asio::awaitable<void> handle_produce(request_context& ctx);
boost::asio::awaitable<void> handle_fetch(request_context& ctx);
boost::asio::awaitable<void> handle_list_offsets(request_context& ctx);
boost::asio::awaitable<void> handle_create_topics(request_context& ctx);
boost::asio::awaitable<void> handle_delete_topics(request_context& ctx);
boost::asio::awaitable<void> handle_create_partitions(request_context& ctx);
boost::asio::awaitable<void> handle_describe_configs(request_context& ctx);
boost::asio::awaitable<void> handle_init_producer_id(request_context& ctx);
boost::asio::awaitable<void> handle_add_partitions_to_txn(request_context& ctx);
boost::asio::awaitable<void> handle_add_offsets_to_txn(request_context& ctx);
boost::asio::awaitable<void> handle_end_txn(request_context& ctx);
boost::asio::awaitable<void> handle_txn_offset_commit(request_context& ctx);
boost::asio::awaitable<void> handle_describe_producers(request_context& ctx);
boost::asio::awaitable<void> handle_describe_transactions(request_context& ctx);
boost::asio::awaitable<void> handle_list_transactions(request_context& ctx);
boost::asio::awaitable<void> handle_delete_records(request_context& ctx);
boost::asio::awaitable<void> handle_offset_for_leader_epoch(request_context& ctx);
boost::asio::awaitable<void> handle_describe_log_dirs(request_context& ctx);
boost::asio::awaitable<void> handle_describe_cluster(request_context& ctx);
boost::asio::awaitable<void> handle_find_coordinator(request_context& ctx);
boost::asio::awaitable<void> handle_join_group(request_context& ctx);
boost::asio::awaitable<void> handle_sync_group(request_context& ctx);
boost::asio::awaitable<void> handle_heartbeat(request_context& ctx);
boost::asio::awaitable<void> handle_leave_group(request_context& ctx);
boost::asio::awaitable<void> handle_offset_commit(request_context& ctx);
boost::asio::awaitable<void> handle_offset_fetch(request_context& ctx);
boost::asio::awaitable<void> handle_list_groups(request_context& ctx);
boost::asio::awaitable<void> handle_describe_groups(request_context& ctx);
boost::asio::awaitable<void> handle_delete_groups(request_context& ctx);
boost::asio::awaitable<void> handle_offset_delete(request_context& ctx);
boost::asio::awaitable<void> handle_alter_configs(request_context& ctx);
boost::asio::awaitable<void> handle_incremental_alter_configs(request_context& ctx);
boost::asio::awaitable<void> handle_sasl_handshake(request_context& ctx);
boost::asio::awaitable<void> handle_sasl_authenticate(request_context& ctx);
boost::asio::awaitable<void> handle_describe_acls(request_context& ctx);
boost::asio::awaitable<void> handle_describe_client_quotas(request_context& ctx);
boost::asio::awaitable<void> handle_alter_client_quotas(request_context& ctx);
boost::asio::awaitable<void> handle_create_acls(request_context& ctx);
boost::asio::awaitable<void> handle_delete_acls(request_context& ctx);
boost::asio::awaitable<void> handle_describe_user_scram_credentials(request_context& ctx);
boost::asio::awaitable<void> handle_alter_user_scram_credentials(request_context& ctx);

// The ApiVersions body for an unsupported ApiVersions version: v0 layout, UNSUPPORTED_VERSION.
void write_api_versions_fallback(writer& out);

}  // namespace sluice::kafka
