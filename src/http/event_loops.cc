#include "http/event_loops.h"

#include <boost/asio/executor_work_guard.hpp>

namespace sluice::http {

event_loops::event_loops(size_t n) {
  for (size_t i = 0; i < std::max<size_t>(n, 1); ++i) {
    auto l = std::make_unique<loop>();
    auto* io = &l->io;
    l->thread = std::thread([io] {
      auto work = boost::asio::make_work_guard(*io);
      io->run();
    });
    loops_.push_back(std::move(l));
  }
}

event_loops::~event_loops() {
  stop();
}

void event_loops::stop() {
  for (auto& l : loops_)
    l->io.stop();
  for (auto& l : loops_)
    if (l->thread.joinable()) l->thread.join();
}

}  // namespace sluice::http
