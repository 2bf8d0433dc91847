#pragma once
// Confluent Schema Registry's REST API over schema/registry.h, at the root of sluice's HTTP
// port (the base URL clients are given is http://HOST:PORT, as for the REST Proxy):
//
//   POST   /subjects/{s}/versions            {"schema":..,"schemaType":..,"references":[..]}
//                                            -> {"id":n}; 409 incompatible, 42201 invalid
//   POST   /subjects/{s}                     lookup -> {"subject","id","version","schema",..}
//   GET    /subjects[?deleted=true&subjectPrefix=p]
//   GET    /subjects/{s}/versions[?deleted=true]
//   GET    /subjects/{s}/versions/{v|latest}[/schema]   (/schema: the schema text alone)
//   GET    /subjects/{s}/versions/{v}/referencedby
//   DELETE /subjects/{s}[?permanent=true], /subjects/{s}/versions/{v}[?permanent=true]
//   GET    /schemas/ids/{id}[/schema|/subjects|/versions], GET /schemas/types
//   GET|PUT /config, GET|PUT|DELETE /config/{s}[?defaultToGlobal=true]
//   GET|PUT /mode, GET|PUT|DELETE /mode/{s}
//   POST   /compatibility/subjects/{s}/versions[/{v|latest}][?verbose=true]
//          -> {"is_compatible":b[,"messages":[..]]}
//
// Answers are application/vnd.schemaregistry.v1+json; errors {"error_code":40401,
// "message":..} with Confluent's codes. Runs on the HTTP server's event loop; changes are
// answered once durable.

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <memory>
#include <string_view>

#include "http/routes.h"

namespace sluice::schema {
class registry;
}

namespace sluice::http {

inline constexpr std::string_view k_schema_registry_content_type =
    "application/vnd.schemaregistry.v1+json";

class schema_registry_api {
 public:
  explicit schema_registry_api(std::shared_ptr<schema::registry> registry)
      : registry_(std::move(registry)) {}

  // The routes above, with the permissions they need (SUBJECT resources; global settings
  // are the cluster's).
  void add_routes(router& r);

 private:
  using answer = boost::asio::awaitable<reply>;
  answer list_subjects(const call& c);
  answer list_versions(const call& c);
  answer register_schema(const call& c);
  answer lookup(const call& c);
  answer delete_subject(const call& c);
  answer delete_version(const call& c);
  answer version(const call& c);
  answer referenced_by(const call& c);
  answer types(const call& c);
  answer by_id(const call& c);
  answer setting(const call& c);
  answer change_setting(const call& c);
  answer test_compatibility(const call& c);

  std::shared_ptr<schema::registry> registry_;
};

}  // namespace sluice::http
