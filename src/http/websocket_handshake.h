#pragma once
// The server's side of the WebSocket opening handshake (RFC 6455 section 4.2): checks the
// client's upgrade request and writes the answer, 101 with the accept key, or the error that
// says what is wrong (426 naming version 13 for another version). Frames are push_channel's.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

namespace sluice::http {

struct websocket_answer {
  bool accepted = false;
  std::string text;  // the whole HTTP answer, head (and body for an error)
};

websocket_answer websocket_handshake(
    const boost::beast::http::request<boost::beast::http::string_body>& req);

}  // namespace sluice::http
