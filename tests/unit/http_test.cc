// The HTTP server's pieces that need no socket: its listener lists, the WebSocket opening
// handshake (RFC 6455's own example) and the router.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "http/routes.h"
#include "http/server.h"
#include "http/websocket_handshake.h"

namespace sluice::http {
namespace {

using request = boost::beast::http::request<boost::beast::http::string_body>;

request upgrade(std::string_view key = "dGhlIHNhbXBsZSBub25jZQ==") {
  request req{boost::beast::http::verb::get, "/v1/views/v/ws", 11};
  req.set(boost::beast::http::field::host, "server.example.com");
  req.set(boost::beast::http::field::upgrade, "websocket");
  req.set(boost::beast::http::field::connection, "keep-alive, Upgrade");
  req.set(boost::beast::http::field::sec_websocket_key, key);
  req.set(boost::beast::http::field::sec_websocket_version, "13");
  return req;
}

TEST(WebSocketHandshake, AnswersRfc6455sExampleKey) {
  auto a = websocket_handshake(upgrade());
  ASSERT_TRUE(a.accepted);
  EXPECT_TRUE(a.text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
  EXPECT_NE(a.text.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  EXPECT_TRUE(a.text.ends_with("\r\n\r\n"));
}

TEST(WebSocketHandshake, AnotherVersionGets426NamingVersion13) {
  auto req = upgrade();
  req.set(boost::beast::http::field::sec_websocket_version, "8");
  auto a = websocket_handshake(req);
  EXPECT_FALSE(a.accepted);
  EXPECT_TRUE(a.text.starts_with("HTTP/1.1 426 "));
  EXPECT_NE(a.text.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
}

TEST(WebSocketHandshake, BadKeyOrNoUpgradeIsRefused) {
  EXPECT_TRUE(websocket_handshake(upgrade("c2hvcnQ=")).text.starts_with("HTTP/1.1 400 "));
  auto req = upgrade();
  req.set(boost::beast::http::field::connection, "keep-alive");
  EXPECT_TRUE(websocket_handshake(req).text.starts_with("HTTP/1.1 426 "));
  req = upgrade();
  req.method(boost::beast::http::verb::post);
  EXPECT_FALSE(websocket_handshake(req).accepted);
}

TEST(Listeners, ParsesHttpAndHttpsWithIpv6AndEveryInterface) {
  auto l = parse_listeners("http://127.0.0.1:8080, https://[::1]:8443,https://:9443");
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_EQ(l->size(), 3u);
  EXPECT_FALSE((*l)[0].tls);
  EXPECT_EQ((*l)[0].port, 8080);
  EXPECT_TRUE((*l)[1].tls);
  EXPECT_EQ((*l)[1].host, "::1");
  EXPECT_EQ((*l)[2].host, "0.0.0.0");
}

TEST(Listeners, RefusesOtherSchemesBadPortsAndEmptyLists) {
  EXPECT_NE(parse_listeners("ftp://h:1").error().message.find("http or https"), std::string::npos);
  EXPECT_NE(parse_listeners("http://h:70000").error().message.find("0-65535"), std::string::npos);
  EXPECT_NE(parse_listeners("http://h").error().message.find("no port"), std::string::npos);
  EXPECT_FALSE(parse_listeners(" , "));
}

using verb = boost::beast::http::verb;

// A handler that answers with its route's name and parameters.
handler echo(std::string name) {
  return [name](const call& c) -> boost::asio::awaitable<reply> {
    std::string body = name;
    for (const auto& p : c.params)
      body += "|" + p;
    co_return reply{200, body};
  };
}

router sample() {
  router r;
  auto topic_read = needs::topic(security::acl_operation::read);
  r.add({verb::get, "/v1/queues", "list", needs::anyone, echo("list")});
  r.add({verb::post, "/v1/queues", "create", needs::anyone, echo("create")});
  r.add({verb::get, "/c/{g}/instances/{i}/records", "records", topic_read, echo("records")});
  r.add({verb::get, "/c/{g}/instances/{i}/{what}", "other", topic_read, echo("other")});
  r.add({verb::delete_, "/v1/queues/{q}", "drop", topic_read, echo("drop")});
  return r;
}

TEST(Router, MatchesMethodAndPatternInOrderWithDecodedParameters) {
  auto r = sample();
  auto m = r.match(verb::get, "/c/my%20group/instances/i-1/records");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->r->metric_name, "records");  // added before the {what} pattern
  EXPECT_EQ(m->params, (std::vector<std::string>{"my group", "i-1"}));
  EXPECT_EQ(r.match(verb::get, "/c/g/instances/i/offsets")->r->metric_name, "other");
  EXPECT_EQ(r.match(verb::post, "/v1/queues/")->r->metric_name, "create");  // trailing slash
  EXPECT_EQ(r.match(verb::head, "/v1/queues")->r->metric_name, "list");     // HEAD is GET

  // The handler gets the parameters.
  boost::asio::io_context io;
  peer from;
  caller who;
  request req{verb::get, "/c/g%2F1/instances/x/records?timeout=5", 11};
  auto found = r.match(verb::get, "/c/g%2F1/instances/x/records");
  ASSERT_TRUE(found);
  call c{req, "/c/g%2F1/instances/x/records", found->params, from, who};
  auto answer = boost::asio::co_spawn(io, found->r->handle(c), boost::asio::use_future);
  io.run();
  EXPECT_EQ(answer.get().body, "records|g/1|x");
  EXPECT_EQ(c.query("timeout"), "5");
}

TEST(Router, NamesTheMethodsOfAPathForA405AndNothingForA404) {
  auto r = sample();
  std::string allowed;
  EXPECT_FALSE(r.match(verb::put, "/v1/queues", &allowed));
  EXPECT_EQ(allowed, "GET or POST");
  EXPECT_FALSE(r.match(verb::get, "/v1/queues/q", &allowed));
  EXPECT_EQ(allowed, "DELETE");
  EXPECT_FALSE(r.match(verb::get, "/v1/queues/q/unknown", &allowed));
  EXPECT_EQ(allowed, "");
  EXPECT_FALSE(r.match(verb::get, "/c//instances/i/records", &allowed));  // an empty {g}
  EXPECT_EQ(allowed, "");
}

TEST(Router, ARouteCarriesThePermissionItWasDeclaredWith) {
  auto r = sample();
  const auto& needs = r.match(verb::delete_, "/v1/queues/orders")->r->needs;
  EXPECT_EQ(needs.who, permission::scope::named);
  EXPECT_EQ(needs.op, security::acl_operation::read);
  EXPECT_EQ(needs.type, security::resource_type::topic);
  EXPECT_EQ(needs.segment, 0);
  EXPECT_EQ(r.match(verb::get, "/v1/queues")->r->needs.who, permission::scope::anyone);
}

}  // namespace
}  // namespace sluice::http
