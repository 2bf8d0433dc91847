// The HTTP server's pieces that need no socket: its listener lists and the WebSocket opening
// handshake (RFC 6455's own example).

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sluice::http
