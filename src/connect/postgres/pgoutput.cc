#include "connect/postgres/pgoutput.h"

#include <charconv>
#include <cstdio>

namespace sluice::connect::pg {

namespace {

constexpr int64_t k_epoch_offset_ms = 946'684'800'000;  // 2000-01-01 in Unix ms

class reader {
 public:
  explicit reader(std::string_view d) : d_(d) {}
  bool ok() const { return ok_; }
  size_t left() const { return d_.size() - at_; }
  uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<uint8_t>(d_[at_++]);
  }
  uint16_t u16() { return static_cast<uint16_t>(be(2)); }
  uint32_t u32() { return static_cast<uint32_t>(be(4)); }
  uint64_t u64() { return be(8); }
  std::string_view cstr() {
    auto end = d_.find('\0', at_);
    if (end == std::string_view::npos) {
      ok_ = false;
      return {};
    }
    auto s = d_.substr(at_, end - at_);
    at_ = end + 1;
    return s;
  }
  std::string_view bytes(size_t n) {
    if (!need(n)) return {};
    auto s = d_.substr(at_, n);
    at_ += n;
    return s;
  }
  std::string_view rest() {
    auto s = d_.substr(at_);
    at_ = d_.size();
    return s;
  }

 private:
  bool need(size_t n) {
    if (!ok_ || left() < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  uint64_t be(size_t n) {
    if (!need(n)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v = (v << 8) | static_cast<uint8_t>(d_[at_ + i]);
    at_ += n;
    return v;
  }
  std::string_view d_;
  size_t at_ = 0;
  bool ok_ = true;
};

error_info bad(std::string what) {
  return make_error(errc::corrupt_batch, "pgoutput: " + std::move(what));
}

bool read_tuple(reader& r, tuple& out) {
  uint16_t n = r.u16();
  if (!r.ok()) return false;
  out.clear();
  out.reserve(n);
  for (uint16_t i = 0; i < n && r.ok(); ++i) {
    datum d;
    switch (r.u8()) {
      case 'n':
        d.k = datum::kind::null;
        break;
      case 'u':
        d.k = datum::kind::unchanged_toast;
        break;
      case 't':
      case 'b': {
        uint32_t len = r.u32();
        d.k = datum::kind::text;
        d.text = r.bytes(len);
        break;
      }
      default:
        return false;
    }
    out.push_back(d);
  }
  return r.ok();
}

void put_be(std::string& out, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i)
    out += static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

std::string format_lsn(lsn_t lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

std::optional<lsn_t> parse_lsn(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size()) return std::nullopt;
  uint32_t hi = 0, lo = 0;
  auto a = std::from_chars(s.data(), s.data() + slash, hi, 16);
  auto b = std::from_chars(s.data() + slash + 1, s.data() + s.size(), lo, 16);
  if (a.ec != std::errc() || a.ptr != s.data() + slash || b.ec != std::errc() ||
      b.ptr != s.data() + s.size())
    return std::nullopt;
  return (static_cast<lsn_t>(hi) << 32) | lo;
}

int64_t pg_time_to_unix_ms(int64_t pg_us) {
  return pg_us / 1000 + k_epoch_offset_ms;
}
int64_t unix_ms_to_pg_time(int64_t unix_ms) {
  return (unix_ms - k_epoch_offset_ms) * 1000;
}

result<message> decode(std::string_view data) {
  reader r(data);
  char tag = static_cast<char>(r.u8());
  if (!r.ok()) return bad("an empty message");
  switch (tag) {
    case 'B': {
      begin_msg m;
      m.final_lsn = r.u64();
      m.commit_time = static_cast<int64_t>(r.u64());
      m.xid = r.u32();
      if (!r.ok()) return bad("a short BEGIN");
      return message(m);
    }
    case 'C': {
      commit_msg m;
      r.u8();  // flags
      m.commit_lsn = r.u64();
      m.end_lsn = r.u64();
      m.commit_time = static_cast<int64_t>(r.u64());
      if (!r.ok()) return bad("a short COMMIT");
      return message(m);
    }
    case 'R': {
      relation m;
      m.oid = r.u32();
      m.schema = std::string(r.cstr());
      m.table = std::string(r.cstr());
      m.replica_identity = static_cast<char>(r.u8());
      uint16_t n = r.u16();
      for (uint16_t i = 0; i < n && r.ok(); ++i) {
        column c;
        c.key = (r.u8() & 1) != 0;
        c.name = std::string(r.cstr());
        c.type_oid = r.u32();
        r.u32();  // type modifier
        m.columns.push_back(std::move(c));
      }
      if (!r.ok()) return bad("a short RELATION");
      return message(std::move(m));
    }
    case 'I': {
      insert_msg m;
      m.relation = r.u32();
      if (r.u8() != 'N' || !read_tuple(r, m.after)) return bad("a bad INSERT");
      return message(std::move(m));
    }
    case 'U': {
      update_msg m;
      m.relation = r.u32();
      char kind = static_cast<char>(r.u8());
      if (kind == 'K' || kind == 'O') {
        m.before_is_key = kind == 'K';
        m.before.emplace();
        if (!read_tuple(r, *m.before)) return bad("a bad UPDATE (old row)");
        kind = static_cast<char>(r.u8());
      }
      if (kind != 'N' || !read_tuple(r, m.after)) return bad("a bad UPDATE");
      return message(std::move(m));
    }
    case 'D': {
      delete_msg m;
      m.relation = r.u32();
      char kind = static_cast<char>(r.u8());
      if (kind != 'K' && kind != 'O') return bad("a bad DELETE");
      m.before_is_key = kind == 'K';
      if (!read_tuple(r, m.before)) return bad("a bad DELETE (old row)");
      return message(std::move(m));
    }
    case 'T': {
      truncate_msg m;
      uint32_t n = r.u32();
      r.u8();  // options
      for (uint32_t i = 0; i < n && r.ok(); ++i)
        m.relations.push_back(r.u32());
      if (!r.ok()) return bad("a short TRUNCATE");
      return message(std::move(m));
    }
    case 'O':
    case 'Y':
    case 'M':
      return message(other_msg{tag});
    default:
      return bad(std::string("unknown message '") + tag + "'");
  }
}

result<std::variant<xlog_data, keepalive>> decode_copy_data(std::string_view data) {
  reader r(data);
  char tag = static_cast<char>(r.u8());
  if (tag == 'w') {
    xlog_data x;
    x.start = r.u64();
    x.wal_end = r.u64();
    x.send_time = static_cast<int64_t>(r.u64());
    x.payload = r.rest();
    if (!r.ok()) return bad("a short XLogData");
    return std::variant<xlog_data, keepalive>(x);
  }
  if (tag == 'k') {
    keepalive k;
    k.wal_end = r.u64();
    k.send_time = static_cast<int64_t>(r.u64());
    k.reply_requested = r.u8() != 0;
    if (!r.ok()) return bad("a short keepalive");
    return std::variant<xlog_data, keepalive>(k);
  }
  return bad(std::string("unknown replication message '") + tag + "'");
}

std::string standby_status(lsn_t written, lsn_t flushed, int64_t now_pg_us, bool reply) {
  std::string out = "r";
  put_be(out, written, 8);
  put_be(out, flushed, 8);
  put_be(out, flushed, 8);  // applied
  put_be(out, static_cast<uint64_t>(now_pg_us), 8);
  out += static_cast<char>(reply ? 1 : 0);
  return out;
}

}  // namespace sluice::connect::pg
