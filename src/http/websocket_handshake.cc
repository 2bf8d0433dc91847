#include "http/websocket_handshake.h"

#include <boost/beast/http/rfc7230.hpp>

#include "base/base64.h"
#include "http/error_body.h"
#include "security/crypto.h"

namespace sluice::http {

namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view k_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool has_token(std::string_view list, std::string_view token) {
  return bhttp::token_list(list).exists(token);
}

websocket_answer refuse(int status, std::string_view reason, std::string_view message,
                        std::string_view extra_headers = {}) {
  auto body = error_body(status, message);
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                     "\r\nServer: sluice\r\nContent-Type: application/json\r\nConnection: "
                     "close\r\n" +
                     std::string(extra_headers) + "Content-Length: " + std::to_string(body.size()) +
                     "\r\n\r\n" + body;
  return {false, std::move(text)};
}

}  // namespace

websocket_answer websocket_handshake(const bhttp::request<bhttp::string_body>& req) {
  if (req.method() != bhttp::verb::get || req.version() < 11)
    return refuse(400, "Bad Request", "a WebSocket opens with an HTTP/1.1 GET");
  if (!has_token(req[bhttp::field::connection], "upgrade") ||
      !has_token(req[bhttp::field::upgrade], "websocket"))
    return refuse(426, "Upgrade Required", "a WebSocket upgrade request is needed",
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n");
  if (req[bhttp::field::sec_websocket_version] != "13")
    return refuse(426, "Upgrade Required", "only WebSocket version 13 is spoken",
                  "Sec-WebSocket-Version: 13\r\n");
  std::string_view key = req[bhttp::field::sec_websocket_key];
  auto nonce = base64_decode(key);
  if (!nonce || nonce->size() != 16)
    return refuse(400, "Bad Request", "Sec-WebSocket-Key must be 16 bytes in base64");
  std::string accept = base64_encode(security::sha1(std::string(key) + std::string(k_guid)));
  return {true,
          "HTTP/1.1 101 Switching Protocols\r\nServer: sluice\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
              accept + "\r\n\r\n"};
}

}  // namespace sluice::http
