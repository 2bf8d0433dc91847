#include "http/routes.h"

#include "http/url.h"

namespace sluice::http {

namespace {

using verb = boost::beast::http::verb;
using op = security::acl_operation;
using rt = security::resource_type;
using scope = permission::scope;

constexpr permission anyone{};
constexpr permission cluster(op o) {
  return {scope::cluster, o, rt::cluster, -1};
}
constexpr permission named(op o, rt t, int segment = 0) {
  return {scope::named, o, t, segment};
}
constexpr permission on_topic(op o, int segment = 0) {
  return named(o, rt::topic, segment);
}
constexpr permission on_subject(op o) {
  return named(o, rt::subject, 0);
}
constexpr permission signed_in{scope::authenticated};

// Most specific first where patterns overlap.
constexpr route k_routes[] = {
    {verb::get, "/health", "/health", anyone},
    {verb::get, "/ready", "/ready", anyone},
    {verb::get, "/metrics", "/metrics", cluster(op::describe)},
    {verb::post, "/v1/login", "/v1/login", anyone},
    {verb::get, "/v1/whoami", "/v1/whoami", anyone},
    {verb::get, "/v1/cluster", "/v1/cluster", cluster(op::describe)},
    {verb::post, "/v1/sql", "/v1/sql", {scope::sql}},
    {verb::get, "/v1/sql/events", "/v1/sql/events", {scope::sql}},
    {verb::get, "/v1/sql/ws", "/v1/sql/ws", {scope::sql}},
    {verb::get, "/v1/views/{name}/events", "/v1/views/{name}/events",
     named(op::read, k_view_resource)},
    {verb::get, "/v1/views/{name}/ws", "/v1/views/{name}/ws", named(op::read, k_view_resource)},
    {verb::get, "/v1/views/{name}", "/v1/views/{name}", named(op::read, k_view_resource)},
    {verb::get, "/v1/topics/{topic}/events", "/v1/topics/{topic}/events", on_topic(op::read)},
    {verb::get, "/v1/topics/{topic}/ws", "/v1/topics/{topic}/ws", on_topic(op::read)},
    // REST Proxy v2.
    {verb::get, "/topics", "/topics", cluster(op::describe)},
    {verb::get, "/topics/{topic}", "/topics/{topic}", on_topic(op::describe)},
    {verb::post, "/topics/{topic}", "/topics/{topic}", on_topic(op::write)},
    {std::nullopt, "/consumers/{group}/instances/{i}/records",
     "/consumers/{group}/instances/{i}/records", named(op::read, rt::group)},
    {std::nullopt, "/consumers/{group}/instances/{i}/{what}", "/consumers/{group}/...",
     named(op::read, rt::group)},
    {std::nullopt, "/consumers/{group}/instances/{i}/{what}/{more}", "/consumers/{group}/...",
     named(op::read, rt::group)},
    {std::nullopt, "/consumers/{group}/instances/{i}", "/consumers/{group}/...",
     named(op::read, rt::group)},
    {std::nullopt, "/consumers/{group}", "/consumers/{group}/...", named(op::read, rt::group)},
    // Work queues: a queue is read and written as its topic.
    {verb::post, "/v1/queues", "/v1/queues", cluster(op::create)},
    {verb::get, "/v1/queues", "/v1/queues", cluster(op::describe)},
    {verb::post, "/v1/queues/{q}/messages", "/v1/queues/{q}/messages", on_topic(op::write)},
    {verb::post, "/v1/queues/{q}/receive", "/v1/queues/{q}/receive", on_topic(op::read)},
    {verb::post, "/v1/queues/{q}/ack", "/v1/queues/{q}/ack", on_topic(op::read)},
    {verb::post, "/v1/queues/{q}/nack", "/v1/queues/{q}/nack", on_topic(op::read)},
    {verb::post, "/v1/queues/{q}/reject", "/v1/queues/{q}/reject", on_topic(op::read)},
    {verb::post, "/v1/queues/{q}/extend", "/v1/queues/{q}/extend", on_topic(op::read)},
    {verb::post, "/v1/queues/{q}/dlq-replay", "/v1/queues/{q}/dlq-replay", on_topic(op::write)},
    {verb::get, "/v1/queues/{q}", "/v1/queues/{q}", on_topic(op::describe)},
    {verb::delete_, "/v1/queues/{q}", "/v1/queues/{q}", on_topic(op::remove)},
    // Schema Registry (http/schema_registry_api.h): a subject is read, written (new versions)
    // and deleted as a SUBJECT resource; listings show only the subjects one may DESCRIBE.
    {verb::get, "/subjects", "/subjects", signed_in},
    {verb::post, "/subjects/{s}/versions", "/subjects/{s}/versions", on_subject(op::write)},
    {verb::get, "/subjects/{s}/versions", "/subjects/{s}/versions", on_subject(op::read)},
    {verb::post, "/subjects/{s}", "/subjects/{s}", on_subject(op::read)},
    {verb::delete_, "/subjects/{s}", "/subjects/{s}", on_subject(op::remove)},
    {verb::delete_, "/subjects/{s}/versions/{v}", "/subjects/{s}/versions/{v}",
     on_subject(op::remove)},
    {verb::get, "/subjects/{s}/versions/{v}", "/subjects/{s}/versions/{v}", on_subject(op::read)},
    {verb::get, "/subjects/{s}/versions/{v}/{what}", "/subjects/{s}/versions/{v}/...",
     on_subject(op::read)},
    {verb::get, "/schemas/types", "/schemas/types", signed_in},
    {verb::get, "/schemas/ids/{id}", "/schemas/ids/{id}", signed_in},
    {verb::get, "/schemas/ids/{id}/{what}", "/schemas/ids/{id}/...", signed_in},
    {verb::get, "/config", "/config", signed_in},
    {verb::put, "/config", "/config", cluster(op::alter)},
    {verb::get, "/config/{s}", "/config/{s}", on_subject(op::read)},
    {std::nullopt, "/config/{s}", "/config/{s}", on_subject(op::alter)},
    {verb::get, "/mode", "/mode", signed_in},
    {verb::put, "/mode", "/mode", cluster(op::alter)},
    {verb::get, "/mode/{s}", "/mode/{s}", on_subject(op::read)},
    {std::nullopt, "/mode/{s}", "/mode/{s}", on_subject(op::alter)},
    {verb::post, "/compatibility/subjects/{s}/versions", "/compatibility/subjects/{s}/versions",
     on_subject(op::read)},
    {verb::post, "/compatibility/subjects/{s}/versions/{v}",
     "/compatibility/subjects/{s}/versions/{v}", on_subject(op::read)},
    // Kafka Connect (http/connect_api.h): connectors are the cluster's, described to read,
    // altered to change.
    {verb::get, "/connector-plugins", "/connector-plugins", cluster(op::describe)},
    {verb::get, "/connectors", "/connectors", cluster(op::describe)},
    {verb::post, "/connectors", "/connectors", cluster(op::alter)},
    {verb::get, "/connectors/{n}", "/connectors/{n}", cluster(op::describe)},
    {verb::delete_, "/connectors/{n}", "/connectors/{n}", cluster(op::alter)},
    {verb::get, "/connectors/{n}/{what}", "/connectors/{n}/...", cluster(op::describe)},
    {std::nullopt, "/connectors/{n}/{what}", "/connectors/{n}/...", cluster(op::alter)},
    {verb::get, "/connectors/{n}/tasks/{t}/status", "/connectors/{n}/...", cluster(op::describe)},
    {verb::post, "/connectors/{n}/tasks/{t}/restart", "/connectors/{n}/...", cluster(op::alter)},
};

}  // namespace

bool match_pattern(std::string_view pattern, std::string_view path,
                   std::vector<std::string>& params) {
  params.clear();
  while (!pattern.empty() && !path.empty()) {
    if (pattern.front() != '/' || path.front() != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    auto pe = pattern.find('/');
    auto se = path.find('/');
    std::string_view pseg = pattern.substr(0, pe), seg = path.substr(0, se);
    if (pseg.starts_with('{')) {
      if (seg.empty()) return false;
      params.push_back(percent_decode(seg));
    } else if (pseg != seg) {
      return false;
    }
    pattern = pe == std::string_view::npos ? std::string_view() : pattern.substr(pe);
    path = se == std::string_view::npos ? std::string_view() : path.substr(se);
  }
  return pattern.empty() && path.empty();
}

std::span<const route> routes() {
  return k_routes;
}

std::optional<route_match> match_route(verb method, std::string_view path) {
  route_match m;
  for (const auto& r : k_routes) {
    if (r.method && *r.method != method && !(*r.method == verb::get && method == verb::head))
      continue;
    if (match_pattern(r.pattern, path, m.params)) {
      m.r = &r;
      return m;
    }
  }
  return std::nullopt;
}

}  // namespace sluice::http
