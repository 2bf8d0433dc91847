#pragma once
// What the PostgreSQL connectors share: the libpq connection string from their settings
// ('database.url', or 'database.hostname', 'database.port', 'database.user',
// 'database.password', 'database.dbname'), quoting, and owning handles.

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "connect/connector.h"

namespace sluice::connect::pg {

struct conn_free {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_free>;
struct result_free {
  void operator()(PGresult* r) const { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_free>;

std::string connection_string(const config& c);
// Checks that the settings name a database.
result<void> validate_connection(const config& c);
std::string quote_ident(std::string_view s);    // "name"
std::string quote_literal(std::string_view s);  // 'text'
// "schema"."table" from schema.table (or "table").
std::string quote_table(std::string_view qualified);
// `doing`: the connection's last error, as io_error.
error_info failure(const std::string& who, const std::string& doing, PGconn* c);

}  // namespace sluice::connect::pg
