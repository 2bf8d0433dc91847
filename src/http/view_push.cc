#include "http/view_push.h"

#include <algorithm>
#include <deque>
#include <span>

#include "http/event_loops.h"
#include "metrics/exposition.h"
#include "view/view.h"

namespace sluice::http {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

// A message of many frames goes out in one write of at most about this many bytes.
constexpr size_t k_max_message = 256 << 10;
// Changes per message served from the view itself (a resume, a catch-up).
constexpr size_t k_catch_up_batch = 1024;
// A `latest` subscriber waits while its client has more than k_latest_unsent not yet taken from
// its socket; its messages are at most what the client took in the last k_latest_stale if it
// kept the subscriber waiting, else up to twice that (at least k_min_message, and that much
// before the client has taken anything); and it is sent each key's newest change instead of
// every one once the changes waiting for it are older than k_latest_stale.
constexpr size_t k_latest_unsent = 1 << 10;
constexpr size_t k_min_message = 1 << 10;
constexpr auto k_latest_stale = std::chrono::milliseconds(250);

class subscriber;

// One view's recent frames on one push loop, and that loop's subscribers of it. Only touched
// on its loop.
struct shard {
  std::deque<std::shared_ptr<const view_frame>> frames;
  uint64_t begin = 0;  // the index of frames.front()
  size_t bytes = 0;
  size_t cap = 1 << 20;
  std::vector<subscriber*> subs;

  uint64_t end() const { return begin + frames.size(); }
  const view_frame& at(uint64_t i) const { return *frames[static_cast<size_t>(i - begin)]; }
  std::shared_ptr<const view_frame> shared(uint64_t i) const {
    return frames[static_cast<size_t>(i - begin)];
  }
  void push(std::shared_ptr<const view_frame> f);
  void wake_all();
};

}  // namespace

// The fan-out of one view: reads and encodes its changes once per round for every loop.
class view_feed : public std::enable_shared_from_this<view_feed> {
 public:
  view_feed(asio::io_context& io, event_loops& loops, std::shared_ptr<view::view> v,
            push_limits limits)
      : io_(io),
        loops_(loops),
        view_(std::move(v)),
        limits_(limits),
        wake_(io, asio::steady_timer::time_point::max()) {
    for (size_t i = 0; i < loops_.size(); ++i) {
      shards_.push_back(std::make_shared<shard>());
      shards_.back()->cap = limits_.max_queued_bytes;
    }
  }
  ~view_feed() { view_->unsubscribe(sub_id_); }

  void start() {
    seq_ = view_->sequence();
    std::weak_ptr<view_feed> w = shared_from_this();
    auto flag = flag_;
    auto& io = io_;
    // Runs on the query's thread after each batch: flags and wakes, nothing more.
    sub_id_ = view_->subscribe([w, flag, &io](const std::vector<view::change>&) {
      if (flag->exchange(true)) return;
      asio::post(io, [w] {
        if (auto f = w.lock()) f->wake_.cancel();
      });
    });
    if (view_->ended()) flag_->store(true);  // ended before we subscribed: no wake-up comes
    asio::co_spawn(io_, loop(), asio::detached);
  }
  void stop() {
    stopped_ = true;
    wake_.cancel();
  }

  const std::shared_ptr<view::view>& view() const { return view_; }
  const std::shared_ptr<shard>& shard_of(size_t loop) const { return shards_[loop]; }

  // A subscriber joins (before it takes its snapshot: see distribute()) or leaves.
  void joined(change_encoding e) {
    (e == change_encoding::object ? object_ : compact_).fetch_add(1);
  }
  void left(change_encoding e) { (e == change_encoding::object ? object_ : compact_).fetch_sub(1); }
  size_t size() const { return object_.load() + compact_.load(); }

 private:
  awaitable<void> loop() {
    auto self = shared_from_this();
    while (!stopped_) {
      // The flag is set (and a wake-up posted) only on its false -> true edge: wait only while
      // it is clear, or a change made during the last round would never be sent.
      if (!flag_->load()) {
        wake_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_.async_wait(asio::as_tuple(use_awaitable));
      }
      if (stopped_) break;
      if (view_->ended()) {  // its subscribers say so and leave
        for (size_t i = 0; i < shards_.size(); ++i)
          asio::post(loops_.at(i), [s = shards_[i]] { s->wake_all(); });
        break;
      }
      // Each round costs a write per subscriber, and on loopback a write's cost is mostly the
      // TCP path (the receiver's side included), whatever its size: rounds are spaced so that a
      // view's subscribers make at most about 100,000 writes a second in all (a round per
      // millisecond up to 100 subscribers, every 10 ms with 1,000), and changes that arrive
      // close together go out together.
      auto subs = static_cast<int64_t>(size());
      auto interval = std::chrono::microseconds(std::clamp<int64_t>(subs * 10, 1000, 20'000));
      auto since = std::chrono::steady_clock::now() - last_round_;
      if (since < interval) {
        asio::steady_timer pause(io_, interval - since);
        co_await pause.async_wait(asio::as_tuple(use_awaitable));
      }
      last_round_ = std::chrono::steady_clock::now();
      flag_->store(false);
      while (distribute())
        co_await asio::post(io_, use_awaitable);
    }
  }

  void publish(std::shared_ptr<const view_frame> f) {
    for (size_t i = 0; i < shards_.size(); ++i)
      asio::post(loops_.at(i), [s = shards_[i], f] { s->push(f); });
  }

  // One round: the view's new changes become one frame on every loop. True when there may be
  // more.
  bool distribute() {
    // Nobody to send to: skip the encoding. A subscriber that joins now counts itself before it
    // reads the view, so it starts past everything skipped here.
    bool object = object_.load() > 0, compact = compact_.load() > 0;
    if (!object && !compact) {
      seq_ = view_->sequence();
      return false;
    }
    std::vector<view::change> cs;
    if (!view_->changes_since(seq_, cs, limits_.max_batch)) {
      // The feed missed changes: subscribers that need them catch up from the view.
      auto gap = std::make_shared<view_frame>();
      gap->gap = true;
      gap->first = seq_ + 1;
      gap->last = seq_ = view_->sequence();
      publish(std::move(gap));
      return false;
    }
    if (cs.empty()) return false;
    // One frame per round (at most max_batch changes), so that subscribers that keep up send
    // it before the next one.
    auto frame = encode_frame(cs, view_->columns(), object, compact);
    seq_ = frame->last;
    publish(std::move(frame));
    return cs.size() == limits_.max_batch;
  }

  asio::io_context& io_;
  event_loops& loops_;
  std::shared_ptr<view::view> view_;
  push_limits limits_;
  asio::steady_timer wake_;
  std::vector<std::shared_ptr<shard>> shards_;
  std::shared_ptr<std::atomic<bool>> flag_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<size_t> object_{0}, compact_{0};
  uint64_t sub_id_ = 0;
  uint64_t seq_ = 0;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point last_round_{};
};

namespace {

// One connection that receives a view's changes. Lives on its push loop as long as run().
class subscriber : public std::enable_shared_from_this<subscriber> {
 public:
  subscriber(push_channel::transport t, push_stream stream, std::shared_ptr<view::view> v,
             std::shared_ptr<view_feed> f, std::shared_ptr<shard> sh, subscription sub,
             std::shared_ptr<view_push::stats> stats)
      : ch_(std::move(stream), t),
        view_(std::move(v)),
        feed_(std::move(f)),
        shard_(std::move(sh)),
        mode_(sub.mode.value_or(view_->keyed() ? delivery::latest : delivery::every)),
        enc_(sub.encoding),
        since_(sub.since),
        stats_(std::move(stats)) {}

  void wake() { ch_.wake(); }
  void shut() {
    stopping_ = true;
    ch_.wake();
  }

  awaitable<void> run(push_channel::request req);

 private:
  bool latest() const { return mode_ == delivery::latest; }
  std::string_view mode_name() const { return latest() ? "latest" : "every"; }

  awaitable<bool> send_snapshot() {
    uint64_t seq = 0;
    auto text = snapshot_message(*view_, enc_, mode_name(), seq);
    after_ = seq;
    catch_up_to_ = 0;
    co_return co_await send("snapshot", seq, text);
  }
  // One message, counted in the stats.
  awaitable<bool> send(std::string_view event, uint64_t seq,
                       std::span<const asio::const_buffer> parts) {
    auto before = ch_.bytes_sent();
    bool ok = co_await ch_.send(event, seq, parts);
    stats_->messages.fetch_add(1, std::memory_order_relaxed);
    stats_->bytes.fetch_add(ch_.bytes_sent() - before, std::memory_order_relaxed);
    co_return ok;
  }
  awaitable<bool> send(std::string_view event, uint64_t seq, std::string_view text) {
    asio::const_buffer b = asio::buffer(text);
    co_return co_await send(event, seq, std::span<const asio::const_buffer>(&b, 1));
  }

  // Serves what the ring cannot from the view itself, one message at a time. False when the
  // subscriber is to be disconnected (an `every` subscriber whose changes are gone).
  awaitable<bool> catch_up(bool gap) {
    std::vector<view::change> cs;
    uint64_t upto = after_;
    bool ok = latest() ? view_->latest_since(after_, cs, k_catch_up_batch, &upto)
                       : view_->changes_since(after_, cs, k_catch_up_batch);
    if (!ok) {
      // Changes it needs are gone: a resume, or a gap of the fan-out itself, starts over from a
      // snapshot; an `every` subscriber that read too slowly has lost its "every".
      if (latest() || gap || resuming_) co_return co_await send_snapshot();
      co_return false;
    }
    stats_->catch_ups.fetch_add(1, std::memory_order_relaxed);
    if (!latest() && !cs.empty()) upto = cs.back().seq;
    if (cs.empty()) {  // nothing after after_ after all: it has caught up
      after_ = std::max({after_, upto, catch_up_to_});
      co_return true;
    }
    auto frame = encode_frame(cs, view_->columns(), enc_ == change_encoding::object,
                              enc_ == change_encoding::compact);
    after_ = upto;
    co_return co_await send("changes", upto, changes_message(*frame, enc_, upto));
  }

  // `latest` flow control: closes the 250 ms window. A client that kept us waiting in it gets
  // messages of what it took in a window; else up to twice what it took (a client earns large
  // messages by taking data, as in TCP's slow start).
  void end_window(std::chrono::steady_clock::time_point now, size_t unsent) {
    uint64_t taken = ch_.bytes_sent() - unsent;
    double seconds = std::chrono::duration<double>(now - window_start_).count();
    auto took = static_cast<size_t>(taken - window_taken_);
    auto per_window = static_cast<size_t>(static_cast<double>(took) * 0.25 / seconds);
    message_cap_ = std::clamp<size_t>(blocked_ ? per_window : std::max(message_cap_, 2 * took),
                                      k_min_message, k_max_message);
    window_start_ = now;
    window_taken_ = taken;
    was_blocked_ = blocked_;
    blocked_ = false;
  }

  // Moves next_ to the first ring frame with changes after after_.
  void reposition() {
    next_ = std::max(next_, shard_->begin);
    while (next_ < shard_->end() && shard_->at(next_).last <= after_)
      ++next_;
  }

  // The ring frames from next_, as one message.
  awaitable<bool> send_frames(size_t max_message) {
    std::string head, tail = "]}";
    std::vector<std::shared_ptr<const view_frame>> held;  // keeps the texts alive while writing
    std::vector<asio::const_buffer> parts;
    parts.emplace_back();  // the head, once the last seq is known
    size_t bytes = 0;
    uint64_t last = after_;
    while (next_ < shard_->end() && bytes < max_message && parts.size() < 256) {
      const view_frame& f = shard_->at(next_);
      if (f.gap || f.first > after_ + 1 || !f.has(enc_)) break;  // the caller catches up first
      auto text = f.after(enc_, last);
      if (!text.empty()) {
        if (parts.size() > 1) parts.push_back(asio::buffer(",", 1));
        parts.push_back(asio::buffer(text));
        bytes += text.size();
      }
      last = f.last;
      held.push_back(shard_->shared(next_));
      after_ = last;
      ++next_;
    }
    if (held.empty()) co_return true;
    head = changes_head(last);
    parts.front() = asio::buffer(head);
    parts.push_back(asio::buffer(tail));
    co_return co_await send("changes", last, parts);
  }

  push_channel ch_;
  std::shared_ptr<view::view> view_;
  std::shared_ptr<view_feed> feed_;
  std::shared_ptr<shard> shard_;
  const delivery mode_;
  const change_encoding enc_;
  std::optional<uint64_t> since_;
  std::shared_ptr<view_push::stats> stats_;
  uint64_t after_ = 0;        // changes up to here are sent
  uint64_t catch_up_to_ = 0;  // served from the view until after_ reaches it
  uint64_t next_ = 0;         // the next ring frame to look at
  bool resuming_ = false;
  // `latest` flow control: the current 250 ms window, what the client had taken when it
  // began, whether it kept us waiting in it (and in the last one), and the message size that
  // follows from that.
  std::chrono::steady_clock::time_point window_start_ = std::chrono::steady_clock::now();
  uint64_t window_taken_ = 0;
  bool blocked_ = false, was_blocked_ = false;
  size_t message_cap_ = k_min_message;  // until the first window says more
  bool stopping_ = false;
};

void shard::push(std::shared_ptr<const view_frame> f) {
  bytes += f->bytes();
  frames.push_back(std::move(f));
  while (frames.size() > 1 && bytes > cap) {
    bytes -= frames.front()->bytes();
    frames.pop_front();
    ++begin;
  }
  wake_all();
}

void shard::wake_all() {
  for (auto* s : subs)
    s->wake();
}

awaitable<void> subscriber::run(push_channel::request req) {
  auto self = shared_from_this();
  auto& counter = latest() ? stats_->latest : stats_->every;
  if (!co_await ch_.open(req)) co_return;
  counter.fetch_add(1);
  feed_->joined(enc_);  // before reading the view: the feed then encodes for us
  shard_->subs.push_back(this);
  next_ = shard_->end();
  bool ok = true;
  if (since_ && *since_ <= view_->sequence()) {
    // Resume: what it missed, from the view; frames already in the ring are older than that.
    after_ = *since_;
    catch_up_to_ = view_->sequence();
    resuming_ = true;
  } else {
    ok = co_await send_snapshot();
  }
  std::string reason;
  uint16_t code = 1008;
  while (ok && !ch_.closed() && !stopping_) {
    if (auto why = view_->ended()) {
      reason = std::move(*why);
      code = 1001;  // going away
      break;
    }
    if (after_ < catch_up_to_) {
      ok = co_await catch_up(false);
      if (!ok && reason.empty() && !ch_.closed())
        reason = "the subscriber fell behind further than the view's feed holds (" +
                 std::to_string(view_->sequence() - after_) +
                 " changes); disconnected (resume with ?since= or use ?mode=latest)";
      continue;
    }
    resuming_ = false;
    reposition();
    if (next_ < shard_->end()) {
      const view_frame& fr = shard_->at(next_);
      if (fr.gap || !fr.has(enc_)) {  // a gap of the fan-out: its changes from the view
        catch_up_to_ = fr.last;
        ok = co_await catch_up(true);
        continue;
      }
      if (fr.first > after_ + 1) {  // fell out of the ring: what it missed, from the view
        catch_up_to_ = fr.first - 1;
        continue;
      }
      size_t max_message = k_max_message;
      if (latest()) {
        // What the client has not taken yet only gets older. Add nothing while it has more than
        // a little; size messages to what it has been taking (by 250 ms windows) when it is the
        // bottleneck; and once what waits for it is older than k_latest_stale, send each key's
        // newest change instead of every one. Conflating costs an encoding per subscriber, so a
        // client that only trails a busy machine by a few rounds is sent the shared frames.
        auto now = std::chrono::steady_clock::now();
        size_t unsent = ch_.unsent_bytes();
        if (now - window_start_ >= k_latest_stale) end_window(now, unsent);
        // A client that kept us waiting gets the next message only once it took everything.
        if (unsent > (was_blocked_ ? 0 : k_latest_unsent)) {
          blocked_ = true;
          co_await ch_.wait(std::chrono::milliseconds(10));
          continue;
        }
        max_message = message_cap_;
        if (shard_->end() - next_ > 1 && now - shard_->at(next_).made > k_latest_stale) {
          catch_up_to_ = shard_->at(shard_->end() - 1).last;
          continue;
        }
      }
      ok = co_await send_frames(max_message);
      continue;
    }
    co_await ch_.wait(std::chrono::hours(1));
  }
  std::erase(shard_->subs, this);
  feed_->left(enc_);
  counter.fetch_sub(1);
  if (!reason.empty() && code == 1008) stats_->disconnected_behind.fetch_add(1);
  co_await ch_.close(code, reason);
}

}  // namespace

view_push::view_push(asio::io_context& io, event_loops& loops, push_limits limits)
    : io_(io), loops_(loops), limits_(limits) {}

view_push::~view_push() {
  close_all();
}

std::shared_ptr<view_feed> view_push::feed_for(const std::shared_ptr<view::view>& v) {
  // Feeds of views that are gone have stopped; their subscribers hold them until they leave.
  std::erase_if(feeds_, [](const auto& e) { return e.second->view()->ended().has_value(); });
  auto& f = feeds_[v.get()];
  if (!f || f->view() != v) {
    if (f) f->stop();
    f = std::make_shared<view_feed>(io_, loops_, v, limits_);
    f->start();
  }
  return f;
}

void view_push::serve(push_channel::transport t, push_stream stream, size_t loop,
                      push_channel::request req, std::shared_ptr<view::view> v, subscription s) {
  auto f = feed_for(v);
  auto& io = loops_.at(loop);
  auto sub = std::make_shared<subscriber>(t, std::move(stream).moved_to(io), v, f,
                                          f->shard_of(loop), s, stats_);
  asio::co_spawn(
      io,
      [sub, req = std::move(req)]() mutable -> awaitable<void> {
        co_await sub->run(std::move(req));
      },
      asio::detached);
}

size_t view_push::subscribers() const {
  return stats_->every.load() + stats_->latest.load();
}

void view_push::write_metrics(metrics::exposition& out) const {
  out.family("sluice_http_view_subscribers", "gauge",
             "Live-view subscribers (Server-Sent Events and WebSocket) by delivery mode");
  out.sample("sluice_http_view_subscribers", {{"mode", "every"}},
             static_cast<double>(stats_->every.load()));
  out.sample("sluice_http_view_subscribers", {{"mode", "latest"}},
             static_cast<double>(stats_->latest.load()));
  out.family("sluice_http_push_messages_total", "counter", "Live-view messages sent");
  out.sample("sluice_http_push_messages_total", {}, static_cast<double>(stats_->messages.load()));
  out.family("sluice_http_push_bytes_total", "counter", "Live-view bytes sent");
  out.sample("sluice_http_push_bytes_total", {}, static_cast<double>(stats_->bytes.load()));
  out.family("sluice_http_push_catch_ups_total", "counter",
             "Live-view messages served from the view itself (resumes, subscribers behind)");
  out.sample("sluice_http_push_catch_ups_total", {}, static_cast<double>(stats_->catch_ups.load()));
  out.family("sluice_http_push_disconnects_total", "counter",
             "Live-view subscribers in `every` mode disconnected for falling behind");
  out.sample("sluice_http_push_disconnects_total", {{"reason", "behind"}},
             static_cast<double>(stats_->disconnected_behind.load()));
}

void view_push::close_all() {
  for (auto& [v, f] : feeds_) {
    f->stop();
    for (size_t i = 0; i < loops_.size(); ++i)
      asio::post(loops_.at(i), [s = f->shard_of(i)] {
        for (auto* sub : s->subs)
          sub->shut();
      });
  }
  feeds_.clear();
}

}  // namespace sluice::http
