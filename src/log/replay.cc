#include "log/replay.h"

#include "log/partition.h"
#include "log/segment_format.h"

namespace sluice::log {

result<size_t> replay_partition(const partition& p,
                                const std::function<void(const batch_header&, bytes_view)>& fn) {
  int64_t next = p.log_start().value();
  const int64_t end = p.high_watermark().value();
  size_t batches = 0;
  bytes buf;
  while (next < end) {
    auto r = p.read(model::offset(next), 4 << 20);
    if (!r) return r.error();
    if (r->len == 0) break;
    buf.resize(r->len);
    if (auto c = r->copy_to(buf.data()); !c) return c.error();
    size_t pos = 0;
    const int64_t before = next;
    while (pos + format::k_batch_header_size <= buf.size()) {
      auto h = parse_batch_header(buf.data() + pos);
      if (h.batch_length <= 0) return make_error(errc::corrupt_batch, "bad batch length");
      if (pos + h.size_bytes() > buf.size()) break;
      bytes_view batch(buf.data() + pos, h.size_bytes());
      pos += h.size_bytes();
      if (h.last_offset() < next) continue;
      next = h.last_offset() + 1;
      fn(h, batch);
      ++batches;
    }
    if (next == before) break;  // no progress: a batch larger than the read
  }
  return batches;
}

}  // namespace sluice::log
