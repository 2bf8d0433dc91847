#include "http/push_channel.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <cstring>
#include <vector>

#include "http/error_body.h"
#include "http/websocket_handshake.h"

namespace sluice::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

namespace {

constexpr auto k_keep_alive = std::chrono::seconds(15);
constexpr auto k_access_recheck = std::chrono::seconds(1);
constexpr size_t k_max_client_message = 64 << 10;

enum opcode : uint8_t { continuation = 0, text = 1, close_op = 8, ping = 9, pong = 10 };

// A server's frame header (never masked): FIN, the opcode, the payload length.
size_t frame_header(uint8_t* out, uint8_t op, size_t len) {
  out[0] = static_cast<uint8_t>(0x80 | op);
  if (len < 126) {
    out[1] = static_cast<uint8_t>(len);
    return 2;
  }
  if (len <= 0xffff) {
    out[1] = 126;
    out[2] = static_cast<uint8_t>(len >> 8);
    out[3] = static_cast<uint8_t>(len);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i)
    out[2 + i] = static_cast<uint8_t>(len >> (56 - 8 * i));
  return 10;
}

std::string control_frame(uint8_t op, std::string_view payload) {
  uint8_t h[10];
  size_t n = frame_header(h, op, payload.size());
  std::string out(reinterpret_cast<const char*>(h), n);
  out += payload;
  return out;
}

// An HTTP/1.1 chunk's size line.
std::string chunk_head(size_t len) {
  char hex[24];
  int n = std::snprintf(hex, sizeof hex, "%zx\r\n", len);
  return std::string(hex, static_cast<size_t>(n));
}

std::string close_frame(uint16_t code, std::string_view reason) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xff);
  payload += reason.substr(0, 123);
  return control_frame(close_op, payload);
}

}  // namespace

struct push_channel::state {
  state(push_stream s, transport t)
      : stream(std::move(s)), kind(t), wake(stream.get_executor(), clock::time_point::max()) {}

  push_stream stream;
  transport kind;
  asio::steady_timer wake;
  bool closed = false;      // the client went away or closed
  bool close_sent = false;  // our close frame (or the end of the stream) is written
  std::string control;      // pongs and the answer to a close, written before the next message
  clock::time_point last_write = clock::now();
  std::function<bool()> access;  // the stream's access check (null: none)
  clock::time_point access_checked = clock::now();

  // Whether the access check is due (a plain test: sends stay free of it otherwise).
  bool access_due() const { return access && clock::now() - access_checked >= k_access_recheck; }
  uint64_t sent = 0;
  // A message's framing and buffers, kept between messages (one write at a time).
  std::string head;
  std::vector<asio::const_buffer> bufs;

  void mark_closed() {
    closed = true;
    wake.cancel();
  }

  // Reads the client's side until it goes away: SSE and NDJSON clients have nothing to say,
  // WebSocket clients send masked frames.
  static awaitable<void> read(std::shared_ptr<state> self) {
    std::vector<uint8_t> in(512);  // grows for larger client frames: idle subscribers stay small
    size_t have = 0;
    size_t skip = 0;  // payload bytes of an ignored data frame still to come
    for (;;) {
      if (have == in.size()) in.resize(in.size() * 2);
      auto [ec, n] = co_await self->stream.async_read_some(
          asio::buffer(in.data() + have, in.size() - have), asio::as_tuple(use_awaitable));
      if (ec) break;
      if (self->kind != transport::websocket) continue;
      have += n;
      size_t pos = 0;
      bool stop = false;
      while (!stop) {
        if (skip) {
          size_t k = std::min(skip, have - pos);
          skip -= k;
          pos += k;
          if (skip) break;
        }
        if (have - pos < 2) break;
        const uint8_t* p = in.data() + pos;
        uint8_t op = p[0] & 0x0f;
        bool fin = p[0] & 0x80, masked = p[1] & 0x80;
        size_t len = p[1] & 0x7f, hdr = 2;
        if (len == 126) {
          if (have - pos < 4) break;
          len = (size_t{p[2]} << 8) | p[3];
          hdr = 4;
        } else if (len == 127) {
          if (have - pos < 10) break;
          len = 0;
          for (int i = 0; i < 8; ++i)
            len = (len << 8) | p[2 + i];
          hdr = 10;
        }
        hdr += 4;  // the mask
        if (!masked || len > k_max_client_message || (op >= close_op && (len > 125 || !fin))) {
          self->control +=
              close_frame(len > k_max_client_message ? 1009 : 1002,
                          len > k_max_client_message ? "message too big" : "protocol error");
          stop = true;
          break;
        }
        if (op < close_op) {  // a data frame: nothing to do with it
          if (have - pos < hdr) break;
          pos += hdr;
          skip = len;
          continue;
        }
        if (have - pos < hdr + len) break;
        std::string payload(reinterpret_cast<const char*>(p + hdr), len);
        for (size_t i = 0; i < len; ++i)
          payload[i] = static_cast<char>(payload[i] ^ p[hdr - 4 + i % 4]);
        pos += hdr + len;
        if (op == ping) {
          self->control += control_frame(pong, payload);
          self->wake.cancel();
        } else if (op == close_op) {
          uint16_t code =
              payload.size() >= 2
                  ? static_cast<uint16_t>((uint8_t(payload[0]) << 8) | uint8_t(payload[1]))
                  : 1000;
          if (!self->close_sent) self->control += close_frame(code, {});  // else the answer to ours
          stop = true;
        }
      }
      if (stop) break;
      std::memmove(in.data(), in.data() + pos, have - pos);
      have -= pos;
    }
    self->mark_closed();
  }

  awaitable<bool> write(std::span<const asio::const_buffer> bufs) {
    if (close_sent) co_return false;
    auto [ec, n] = co_await stream.write_all(bufs);
    last_write = clock::now();
    sent += n;
    if (ec) {
      mark_closed();
      close_sent = true;
      co_return false;
    }
    co_return true;
  }
};

push_channel::push_channel(push_stream stream, transport t)
    : st_(std::make_shared<state>(std::move(stream), t)) {
  st_->access = st_->stream.access();
  boost::system::error_code ignore;
  st_->stream.socket().set_option(tcp::no_delay(true), ignore);
}

push_channel::~push_channel() {
  st_->stream.close();
  st_->wake.cancel();
}

push_channel::transport push_channel::kind() const {
  return st_->kind;
}

asio::any_io_executor push_channel::get_executor() const {
  return st_->stream.get_executor();
}

awaitable<bool> push_channel::open(const request& req) {
  auto& st = *st_;
  if (st.kind == transport::websocket) {
    auto answer = websocket_handshake(req);
    asio::const_buffer b = asio::buffer(answer.text);
    if (!co_await st.write({&b, 1}) || !answer.accepted) co_return false;
  } else {
    std::string_view head =
        st.kind == transport::sse
            ? "HTTP/1.1 200 OK\r\nServer: sluice\r\nContent-Type: text/event-stream\r\n"
              "Cache-Control: no-cache\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n"
            : "HTTP/1.1 200 OK\r\nServer: sluice\r\nContent-Type: application/x-ndjson\r\n"
              "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
    asio::const_buffer b = asio::buffer(head);
    if (!co_await st.write({&b, 1})) co_return false;
  }
  asio::co_spawn(st.stream.get_executor(), state::read(st_), asio::detached);
  co_return true;
}

awaitable<bool> push_channel::flush_control() {
  auto& st = *st_;
  if (st.control.empty()) co_return !st.closed;
  std::string c = std::move(st.control);
  st.control.clear();
  asio::const_buffer b = asio::buffer(c);
  bool ok = co_await st.write({&b, 1});
  co_return ok && !st.closed;
}

awaitable<bool> push_channel::still_allowed() {
  auto& st = *st_;
  st.access_checked = clock::now();
  if (st.access()) co_return true;
  co_await close(1008, "access revoked: the caller may no longer read this");
  st.mark_closed();
  co_return false;
}

awaitable<bool> push_channel::send(std::string_view event, std::optional<uint64_t> id,
                                   std::span<const asio::const_buffer> parts) {
  auto& st = *st_;
  if (!co_await flush_control()) co_return false;
  if (st.access_due() && !co_await still_allowed()) co_return false;
  size_t len = asio::buffer_size(parts);
  // Framing around the parts: a head before, a tail after.
  auto& head = st.head;
  head.clear();
  std::string_view tail;
  switch (st.kind) {
    case transport::websocket: {
      uint8_t ws_head[10];
      head.assign(reinterpret_cast<const char*>(ws_head), frame_header(ws_head, text, len));
      break;
    }
    case transport::sse:
      if (id) {
        head += "id: ";
        head += std::to_string(*id);
        head += '\n';
      }
      head += "event: ";
      head += event;
      head += "\ndata: ";
      tail = "\n\n";
      break;
    case transport::ndjson:
      head = chunk_head(len + 1);
      tail = "\n\r\n";
      break;
  }
  st.bufs.clear();
  st.bufs.push_back(asio::buffer(head));
  st.bufs.insert(st.bufs.end(), parts.begin(), parts.end());
  if (!tail.empty()) st.bufs.push_back(asio::buffer(tail));
  co_return co_await st.write(st.bufs);
}

awaitable<bool> push_channel::send(std::string_view event, std::optional<uint64_t> id,
                                   std::string_view message) {
  asio::const_buffer b = asio::buffer(message);
  co_return co_await send(event, id, std::span<const asio::const_buffer>(&b, 1));
}

awaitable<void> push_channel::close(uint16_t ws_code, std::string_view reason) {
  auto& st = *st_;
  co_await flush_control();  // the answer to the client's close, if it sent one
  if (!st.close_sent && !st.closed) {
    std::string out;
    switch (st.kind) {
      case transport::websocket:
        out = close_frame(ws_code, reason);
        break;
      case transport::sse:
        if (!reason.empty()) out = "event: error\ndata: " + error_body(503, reason) + "\n\n";
        break;
      case transport::ndjson:
        if (!reason.empty()) {
          std::string line = error_body(503, reason) + "\n";
          out = chunk_head(line.size()) + line + "\r\n";
        }
        out += "0\r\n\r\n";
        break;
    }
    if (!out.empty()) {
      asio::const_buffer b = asio::buffer(out);
      co_await st.write({&b, 1});
    }
  }
  st.close_sent = true;
  if (!st.closed) {
    // A clean end: our side first, then the client's (its WebSocket close frame, or its end of
    // the stream) for a moment, so that it reads all we sent rather than a reset.
    co_await st.stream.shutdown_send(std::chrono::seconds(2));
    st.wake.expires_after(std::chrono::seconds(2));
    co_await st.wake.async_wait(asio::as_tuple(use_awaitable));
  }
  st.closed = true;
  st.stream.close();
}

awaitable<void> push_channel::wait(clock::duration timeout) {
  auto& st = *st_;
  if (st.closed) co_return;
  if (st.control.empty()) {
    auto until_keep_alive = st.last_write + k_keep_alive - clock::now();
    st.wake.expires_after(std::max(clock::duration::zero(), std::min(timeout, until_keep_alive)));
    co_await st.wake.async_wait(asio::as_tuple(use_awaitable));
  }
  if (!co_await flush_control()) co_return;
  if (clock::now() - st.last_write >= k_keep_alive) {
    // Asked at every keep-alive, however recently a message went.
    if (st.access && !co_await still_allowed()) co_return;
    std::string ka = st.kind == transport::sse         ? std::string(": keep-alive\n\n")
                     : st.kind == transport::websocket ? control_frame(ping, {})
                                                       : std::string();
    if (!ka.empty()) {
      asio::const_buffer b = asio::buffer(ka);
      co_await st.write({&b, 1});
    } else {
      st.last_write = clock::now();
    }
  }
}

void push_channel::wake() {
  st_->wake.cancel();
}

bool push_channel::closed() const {
  return st_->closed;
}

size_t push_channel::unsent_bytes() const {
  int n = 0;
  if (::ioctl(st_->stream.socket().native_handle(), SIOCOUTQNSD, &n) != 0) return 0;
  return static_cast<size_t>(std::max(n, 0));
}

uint64_t push_channel::bytes_sent() const {
  return st_->sent;
}

}  // namespace sluice::http
