#pragma once
// Starts the real `sluice server` binary (from $SLUICE_BIN) on a free loopback port for
// tests that talk to it with real Kafka clients, and stops it gently or with kill -9.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {

inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool can_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

class sluice_process {
 public:
  explicit sluice_process(std::vector<std::string> extra_args = {})
      : port_(free_port()), extra_(std::move(extra_args)) {
    char tmpl[] = "/tmp/sluice-it-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    start();
  }
  ~sluice_process() {
    // A clean stop must exit 0: this is where sanitizer reports and shutdown bugs surface.
    if (pid_ > 0) {
      EXPECT_EQ(stop(SIGTERM), 0) << "sluice server did not shut down cleanly";
    }
    std::filesystem::remove_all(dir_);
  }

  std::string brokers() const { return "127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& data_dir() const { return dir_; }

  void start() {
    const char* bin = std::getenv("SLUICE_BIN");
    if (!bin) throw std::runtime_error("SLUICE_BIN is not set");
    std::vector<std::string> args = {bin,           "server",       "--data-dir",
                                     dir_.string(), "--kafka-addr", brokers(),
                                     "--log-level", log_level()};
    args.insert(args.end(), extra_.begin(), extra_.end());
    // Never the default HTTP port: tests run side by side.
    if (std::find(extra_.begin(), extra_.end(), "--http-addr") == extra_.end()) {
      args.push_back("--http-addr");
      args.push_back("127.0.0.1:" + std::to_string(free_port()));
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a test binary that crashed
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin, argv.data());
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!can_connect(port_)) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("sluice server exited during start-up");
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("sluice server did not start listening");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Sends `sig` and waits for the process; returns its exit status (or -signal).
  int stop(int sig = SIGTERM) {
    if (pid_ <= 0) return 0;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  // SLUICE_TEST_LOG_LEVEL=info shows the server's log while debugging a test.
  static std::string log_level() {
    const char* l = std::getenv("SLUICE_TEST_LOG_LEVEL");
    return l ? l : "warn";
  }

  void restart() {
    EXPECT_EQ(stop(SIGTERM), 0) << "sluice server did not shut down cleanly";
    start();
  }

 private:
  uint16_t port_;
  std::vector<std::string> extra_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

}  // namespace sluice::test
