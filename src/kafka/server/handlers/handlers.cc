#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

namespace {
// Version ranges are those librdkafka 2.x, kcat and current Java clients negotiate. Produce
// starts at v3 and Fetch at v4: record batch v2 is the only format the log stores. The last
// number is api_spec::client_throttles, from the Kafka message definitions ("Starting in
// version N, on quota violation, brokers send out responses before throttling"); APIs newer
// than KIP-219 have it from v0; OffsetForLeaderEpoch (a replica's request) and SaslHandshake
// (before any identity) never.
constexpr api_spec k_apis[] = {
    {api_key::produce, "Produce", 3, 9, 9, 6, handle_produce},
    {api_key::fetch, "Fetch", 4, 12, 12, 8, handle_fetch},
    {api_key::list_offsets, "ListOffsets", 0, 7, 6, 3, handle_list_offsets},
    {api_key::metadata, "Metadata", 0, 12, 9, 6, handle_metadata},
    {api_key::find_coordinator, "FindCoordinator", 0, 4, 3, 2, handle_find_coordinator},
    {api_key::offset_commit, "OffsetCommit", 0, 8, 8, 4, handle_offset_commit},
    {api_key::offset_fetch, "OffsetFetch", 1, 8, 6, 4, handle_offset_fetch},
    {api_key::join_group, "JoinGroup", 0, 9, 6, 3, handle_join_group},
    {api_key::heartbeat, "Heartbeat", 0, 4, 4, 2, handle_heartbeat},
    {api_key::leave_group, "LeaveGroup", 0, 5, 4, 2, handle_leave_group},
    {api_key::sync_group, "SyncGroup", 0, 5, 4, 2, handle_sync_group},
    {api_key::describe_groups, "DescribeGroups", 0, 5, 5, 2, handle_describe_groups},
    {api_key::list_groups, "ListGroups", 0, 4, 3, 2, handle_list_groups},
    {api_key::delete_groups, "DeleteGroups", 0, 2, 2, 1, handle_delete_groups},
    {api_key::offset_delete, "OffsetDelete", 0, 0, 1, 0, handle_offset_delete},
    {api_key::alter_configs, "AlterConfigs", 0, 2, 2, 1, handle_alter_configs},
    {api_key::incremental_alter_configs, "IncrementalAlterConfigs", 0, 1, 1, 0,
     handle_incremental_alter_configs},
    {api_key::api_versions, "ApiVersions", 0, 3, 3, 2, handle_api_versions},
    {api_key::sasl_handshake, "SaslHandshake", 0, 1, 2, -1, handle_sasl_handshake},
    {api_key::sasl_authenticate, "SaslAuthenticate", 0, 2, 2, 1, handle_sasl_authenticate},
    {api_key::describe_acls, "DescribeAcls", 0, 3, 2, 1, handle_describe_acls},
    {api_key::describe_client_quotas, "DescribeClientQuotas", 0, 1, 1, 0,
     handle_describe_client_quotas},
    {api_key::alter_client_quotas, "AlterClientQuotas", 0, 1, 1, 0, handle_alter_client_quotas},
    {api_key::create_acls, "CreateAcls", 0, 3, 2, 1, handle_create_acls},
    {api_key::delete_acls, "DeleteAcls", 0, 3, 2, 1, handle_delete_acls},
    {api_key::describe_user_scram_credentials, "DescribeUserScramCredentials", 0, 0, 0, 0,
     handle_describe_user_scram_credentials},
    {api_key::alter_user_scram_credentials, "AlterUserScramCredentials", 0, 0, 0, 0,
     handle_alter_user_scram_credentials},
    {api_key::create_topics, "CreateTopics", 0, 7, 5, 3, handle_create_topics},
    {api_key::delete_topics, "DeleteTopics", 0, 6, 4, 2, handle_delete_topics},
    {api_key::init_producer_id, "InitProducerId", 0, 4, 2, 1, handle_init_producer_id},
    {api_key::add_partitions_to_txn, "AddPartitionsToTxn", 0, 3, 3, 1,
     handle_add_partitions_to_txn},
    {api_key::add_offsets_to_txn, "AddOffsetsToTxn", 0, 3, 3, 1, handle_add_offsets_to_txn},
    {api_key::end_txn, "EndTxn", 0, 3, 3, 1, handle_end_txn},
    {api_key::txn_offset_commit, "TxnOffsetCommit", 0, 3, 3, 1, handle_txn_offset_commit},
    {api_key::describe_producers, "DescribeProducers", 0, 0, 0, 0, handle_describe_producers},
    {api_key::delete_records, "DeleteRecords", 0, 2, 2, 1, handle_delete_records},
    {api_key::offset_for_leader_epoch, "OffsetForLeaderEpoch", 0, 4, 4, -1,
     handle_offset_for_leader_epoch},
    {api_key::describe_log_dirs, "DescribeLogDirs", 0, 4, 2, 1, handle_describe_log_dirs},
    {api_key::describe_cluster, "DescribeCluster", 0, 1, 0, 0, handle_describe_cluster},
    {api_key::describe_transactions, "DescribeTransactions", 0, 0, 0, 0,
     handle_describe_transactions},
    {api_key::list_transactions, "ListTransactions", 0, 1, 0, 0, handle_list_transactions},
    {api_key::describe_configs, "DescribeConfigs", 0, 4, 4, 2, handle_describe_configs},
    {api_key::create_partitions, "CreatePartitions", 0, 3, 2, 1, handle_create_partitions},
};
}  // namespace

std::span<const api_spec> supported_apis() {
  return k_apis;
}

const api_spec* find_api(int16_t key) {
  for (const auto& a : k_apis)
    if (static_cast<int16_t>(a.key) == key) return &a;
  return nullptr;
}

}  // namespace sluice::kafka
