#pragma once
// The coordinator's state, shared by its files (coordinator.cc: membership and commits;
// queries.cc: what is read). Private to src/group/.

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "group/coordinator.h"
#include "group/group.h"
#include "group/offset_cache.h"

namespace sluice::group {

struct coordinator::impl {
  impl(log::log& l, coordinator_config c) : log(l), config(c) {}

  log::log& log;
  const coordinator_config config;
  std::unique_ptr<offset_cache> offsets;

  mutable std::mutex mu;
  std::map<std::string, group> groups;  // groups with members, ids handed out, or offsets

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread ticker;

  static void run(deferred& d) {
    for (auto& f : d)
      f();
  }

  group& get(const std::string& id) { return groups.try_emplace(id, id).first->second; }
  group* find(const std::string& id) {
    auto it = groups.find(id);
    return it == groups.end() ? nullptr : &it->second;
  }

  void tick() {
    deferred out;
    {
      std::lock_guard lk(mu);
      auto now = clock_type::now();
      for (auto it = groups.begin(); it != groups.end();) {
        it->second.tick(now, config, out);
        // A group with committed offsets keeps its generation (a stale member's commit must
        // still be refused after the group emptied).
        bool forget = it->second.idle() && !offsets->has_group(it->first);
        it = forget ? groups.erase(it) : std::next(it);
      }
    }
    run(out);
  }
};

}  // namespace sluice::group
