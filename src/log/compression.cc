#include "log/compression.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <memory>

namespace sluice::log {

namespace {

error_info bad(const char* codec_name, const std::string& why) {
  return make_error(errc::corrupt_batch, std::string(codec_name) + ": " + why);
}

result<bytes> gunzip(bytes_view in, size_t max_size) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return bad("gzip", "inflateInit2 failed");
  std::unique_ptr<z_stream, void (*)(z_stream*)> guard(&zs, [](z_stream* z) { inflateEnd(z); });
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  bytes out(std::max<size_t>(in.size() * 4, 4096));
  for (;;) {
    zs.next_out = out.data() + zs.total_out;
    zs.avail_out = static_cast<uInt>(out.size() - zs.total_out);
    int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) return bad("gzip", zs.msg ? zs.msg : "inflate failed");
    if (zs.avail_out == 0) {
      if (out.size() >= max_size) return bad("gzip", "decompressed data too large");
      out.resize(std::min(out.size() * 2, max_size));
    } else if (zs.avail_in == 0) {
      return bad("gzip", "truncated stream");
    }
  }
  out.resize(zs.total_out);
  return out;
}

result<bytes> unsnappy_block(const uint8_t* p, size_t n, size_t max_size) {
  size_t len = 0;
  if (snappy_uncompressed_length(reinterpret_cast<const char*>(p), n, &len) != SNAPPY_OK ||
      len > max_size)
    return bad("snappy", "bad block");
  bytes out(len);
  if (snappy_uncompress(reinterpret_cast<const char*>(p), n, reinterpret_cast<char*>(out.data()),
                        &len) != SNAPPY_OK)
    return bad("snappy", "bad block");
  out.resize(len);
  return out;
}

result<bytes> unsnappy(bytes_view in, size_t max_size) {
  static const uint8_t k_xerial[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
  if (in.size() < 16 || std::memcmp(in.data(), k_xerial, 8) != 0)
    return unsnappy_block(in.data(), in.size(), max_size);
  bytes out;
  size_t pos = 16;  // magic, version, compatible version
  while (pos < in.size()) {
    if (pos + 4 > in.size()) return bad("snappy", "truncated xerial block");
    size_t n = load_be32(in.data() + pos);
    pos += 4;
    if (pos + n > in.size()) return bad("snappy", "truncated xerial block");
    auto block = unsnappy_block(in.data() + pos, n, max_size - out.size());
    if (!block) return block;
    out.insert(out.end(), block->begin(), block->end());
    pos += n;
  }
  return out;
}

result<bytes> unlz4(bytes_view in, size_t max_size) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)))
    return bad("lz4", "no context");
  std::unique_ptr<LZ4F_dctx, size_t (*)(LZ4F_dctx*)> guard(ctx, LZ4F_freeDecompressionContext);
  bytes out(std::max<size_t>(in.size() * 4, 4096));
  size_t in_pos = 0, out_pos = 0;
  for (;;) {
    size_t src = in.size() - in_pos, dst = out.size() - out_pos;
    size_t hint =
        LZ4F_decompress(ctx, out.data() + out_pos, &dst, in.data() + in_pos, &src, nullptr);
    if (LZ4F_isError(hint)) return bad("lz4", LZ4F_getErrorName(hint));
    in_pos += src;
    out_pos += dst;
    if (hint == 0) break;  // frame complete
    if (out_pos == out.size()) {
      if (out.size() >= max_size) return bad("lz4", "decompressed data too large");
      out.resize(std::min(out.size() * 2, max_size));
    } else if (in_pos == in.size()) {
      return bad("lz4", "truncated frame");
    }
  }
  out.resize(out_pos);
  return out;
}

result<bytes> unzstd(bytes_view in, size_t max_size) {
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(),
                                                              ZSTD_freeDStream);
  if (!ds) return bad("zstd", "no context");
  bytes out(std::max<size_t>(in.size() * 4, 4096));
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  ZSTD_outBuffer ob{out.data(), out.size(), 0};
  for (;;) {
    size_t rc = ZSTD_decompressStream(ds.get(), &ob, &ib);
    if (ZSTD_isError(rc)) return bad("zstd", ZSTD_getErrorName(rc));
    if (rc == 0 && ib.pos == ib.size) break;
    if (ob.pos == ob.size) {
      if (out.size() >= max_size) return bad("zstd", "decompressed data too large");
      out.resize(std::min(out.size() * 2, max_size));
      ob.dst = out.data();
      ob.size = out.size();
    } else if (ib.pos == ib.size) {
      return bad("zstd", "truncated frame");
    }
  }
  out.resize(ob.pos);
  return out;
}

}  // namespace

result<bytes> decompress(codec c, bytes_view data, size_t max_size) {
  switch (c) {
    case codec::none:
      return bytes(data.begin(), data.end());
    case codec::gzip:
      return gunzip(data, max_size);
    case codec::snappy:
      return unsnappy(data, max_size);
    case codec::lz4:
      return unlz4(data, max_size);
    case codec::zstd:
      return unzstd(data, max_size);
  }
  return make_error(errc::corrupt_batch, "unknown codec");
}

}  // namespace sluice::log
