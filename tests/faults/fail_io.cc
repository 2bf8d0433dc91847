// Fault injection for tests, loaded with LD_PRELOAD: while the file that SLUICE_FAULT_FILE names
// exists and holds "<call> <errno> <path part>" (e.g. "fdatasync EIO topics/orders-0"), that
// call (fdatasync, fsync or pwrite) fails with that errno on every file whose path contains the
// part. Without the file every call goes through, so a test switches a fault on and off by
// writing and removing it.

#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

// The errno to fail `call` on `fd` with, or 0.
int injected(const char* call, int fd) {
  const char* control = std::getenv("SLUICE_FAULT_FILE");
  if (!control) return 0;
  std::FILE* f = std::fopen(control, "r");
  if (!f) return 0;
  char which[32] = {}, err[32] = {}, part[512] = {};
  int n = std::fscanf(f, "%31s %31s %511s", which, err, part);
  std::fclose(f);
  if (n != 3 || std::strcmp(which, call) != 0) return 0;
  char path[1024];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t len = readlink(link.c_str(), path, sizeof path - 1);
  if (len <= 0) return 0;
  path[len] = 0;
  if (!std::strstr(path, part)) return 0;
  if (std::strcmp(err, "ENOSPC") == 0) return ENOSPC;
  if (std::strcmp(err, "EDQUOT") == 0) return EDQUOT;
  return EIO;
}

}  // namespace

extern "C" int fdatasync(int fd) {
  static auto next = real<int (*)(int)>("fdatasync");
  if (int e = injected("fdatasync", fd)) {
    errno = e;
    return -1;
  }
  return next(fd);
}

extern "C" int fsync(int fd) {
  static auto next = real<int (*)(int)>("fsync");
  if (int e = injected("fsync", fd)) {
    errno = e;
    return -1;
  }
  return next(fd);
}

extern "C" ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  static auto next = real<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  if (int e = injected("pwrite", fd)) {
    errno = e;
    return -1;
  }
  return next(fd, buf, count, offset);
}

extern "C" ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) {
  static auto next = real<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite64");
  if (int e = injected("pwrite", fd)) {
    errno = e;
    return -1;
  }
  return next(fd, buf, count, offset);
}
