#pragma once
// One request being handled: its header, a reader over its body and a writer for the
// response body (the response header is already written by the connection).

#include <spdlog/spdlog.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <string>

#include "kafka/protocol/api_keys.h"
#include "kafka/protocol/reader.h"
#include "kafka/protocol/writer.h"
#include "kafka/server/broker.h"
#include "kafka/server/response.h"
#include "kafka/server/session.h"
#include "security/authorizer.h"

namespace sluice::kafka {

struct request_context {
  broker& b;
  api_key key;
  int16_t version;
  int32_t correlation_id;
  std::string client_id;
  reader in;
  writer out;
  boost::asio::any_io_executor executor;
  kafka::session& session;         // the connection's listener, peer and principal
  bool send_response = true;       // cleared by acks=0 produce
  bool close_after = false;        // set to close the connection after the response
  size_t throttle_at = SIZE_MAX;   // where throttle_time_ms is, once written
  std::vector<file_slice> slices;  // record data to splice into the response (fetch)

  // Appends a bytes field whose content is the file range `data`, sent without a copy.
  const std::string& client_host() const { return session.client_host; }
  // Writes throttle_time_ms (0 for now): a quota's throttle time is patched in afterwards.
  void throttle_field() {
    throttle_at = out.size();
    out.i32(0);
  }
  // Whether the session's principal may do `op` on the resource (always true without an
  // authorizer).
  bool allowed(security::acl_operation op, security::resource_type type,
               std::string_view name) const {
    const auto* a = b.config.security.authorizer.get();
    return !a || a->allowed(session.principal, session.client_host, op, type, name);
  }
  bool allowed_on_cluster(security::acl_operation op) const {
    return allowed(op, security::resource_type::cluster, security::k_cluster_name);
  }
  const listener& where() const { return *session.where; }

  void out_file_bytes(log::read_result data) {
    out.bytes_len(data.len);
    if (data.len > 0) slices.push_back({out.size(), std::move(data)});
  }

  // Bytes left after a fully decoded request are tolerated, as Kafka tolerates them:
  // librdkafka 2.0 sends an extra empty tag section in ListGroups and DescribeGroups.
  void expect_end() const {
    if (in.remaining() != 0)
      spdlog::debug("kafka: {} bytes after a request of API {} v{} from {} ignored", in.remaining(),
                    static_cast<int>(key), version, client_id);
  }
};

}  // namespace sluice::kafka
