// Fault injection for tests, loaded with LD_PRELOAD: statvfs() and fstatvfs() report as free
// space the number of bytes written (in decimal) in the file that SLUICE_FAKE_FREE_FILE names,
// so that a test can make the data folder's file system look full and then free again without
// filling a real disk. Everything else the calls report is the real file system's.

#include <dlfcn.h>
#include <sys/statvfs.h>

#include <cstdio>
#include <cstdlib>

namespace {

void apply(struct statvfs* st) {
  const char* path = std::getenv("SLUICE_FAKE_FREE_FILE");
  if (!path || st->f_frsize == 0) return;
  std::FILE* f = std::fopen(path, "r");
  if (!f) return;
  unsigned long long bytes = 0;
  if (std::fscanf(f, "%llu", &bytes) == 1) st->f_bavail = st->f_bfree = bytes / st->f_frsize;
  std::fclose(f);
}

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int statvfs(const char* path, struct statvfs* st) {
  static auto next = real<int (*)(const char*, struct statvfs*)>("statvfs");
  int r = next(path, st);
  if (r == 0) apply(st);
  return r;
}

extern "C" int fstatvfs(int fd, struct statvfs* st) {
  static auto next = real<int (*)(int, struct statvfs*)>("fstatvfs");
  int r = next(fd, st);
  if (r == 0) apply(st);
  return r;
}
