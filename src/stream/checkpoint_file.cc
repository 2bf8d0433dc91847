#include <system_error>

#include "base/file.h"
#include "stream/checkpoint_store.h"

namespace sluice::stream {

namespace {

class file_checkpoints final : public checkpoint_store {
 public:
  explicit file_checkpoints(std::filesystem::path file) : file_(std::move(file)) {}

  result<std::optional<std::string>> read() override {
    if (!std::filesystem::exists(file_)) return std::optional<std::string>();
    auto data = read_file(file_);
    if (!data) return data.error();
    return std::optional<std::string>(
        std::string(reinterpret_cast<const char*>(data->data()), data->size()));
  }

  result<void> write(std::string_view blob) override {
    return write_file_atomic(file_, as_bytes(blob));
  }

  result<void> erase() override {
    std::error_code ec;
    std::filesystem::remove(file_, ec);
    if (ec) return make_error(errc::io_error, "removing " + file_.string() + ": " + ec.message());
    return {};
  }

  std::string describe() const override { return "file " + file_.string(); }

 private:
  std::filesystem::path file_;
};

}  // namespace

std::unique_ptr<checkpoint_store> make_file_checkpoints(std::filesystem::path file) {
  return std::make_unique<file_checkpoints>(std::move(file));
}

}  // namespace sluice::stream
