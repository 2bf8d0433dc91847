// libFuzzer target: arbitrary bytes as one Kafka request frame, through the same header
// decoding, version negotiation and handlers as a connection, against a real log in a
// temporary folder. A malformed request may only end in decode_error (the connection would
// be closed); anything else (a crash, a sanitizer report, another exception) is a bug.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "group/coordinator.h"
#include "group/transaction_coordinator.h"
#include "kafka/protocol/reader.h"
#include "kafka/server.h"
#include "log/log.h"

namespace {

sluice::log::log& fuzz_log() {
  static std::unique_ptr<sluice::log::log> l = [] {
    static char tmpl[] = "/tmp/sluice-fuzz-XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    // Registered before the log exists, so it runs after the log is closed at exit.
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(tmpl, ec);
    });
    sluice::log::log_options o;
    o.data_dir = tmpl;
    o.max_partitions = 4;  // keep created topics small
    auto r = sluice::log::log::open(o);
    if (!r) std::abort();
    return std::move(*r);
  }();
  return *l;
}

sluice::group::coordinator& fuzz_groups() {
  static std::unique_ptr<sluice::group::coordinator> g = [] {
    auto r = sluice::group::coordinator::open(fuzz_log(), {});
    if (!r) std::abort();
    return std::move(*r);
  }();
  return *g;
}

sluice::group::transaction_coordinator& fuzz_transactions() {
  static std::unique_ptr<sluice::group::transaction_coordinator> t = [] {
    auto r = sluice::group::transaction_coordinator::open(fuzz_log(), fuzz_groups(), {});
    if (!r) std::abort();
    return std::move(*r);
  }();
  return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sluice::kafka::server_config config;
  try {
    sluice::kafka::handle_frame_for_test(config, fuzz_log(), sluice::bytes(data, data + size),
                                         /*budget_ms=*/2, {&fuzz_groups(), &fuzz_transactions()});
  } catch (const sluice::kafka::decode_error&) {
  }
  return 0;
}
