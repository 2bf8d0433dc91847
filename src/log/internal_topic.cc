#include "log/internal_topic.h"

#include <map>
#include <string>

#include "log/log.h"

namespace sluice::log {

result<std::shared_ptr<partition>> open_internal_topic(log& l, std::string_view name) {
  const std::map<std::string, std::string> configs = {
      {"cleanup.policy", "compact"}, {"retention.ms", "-1"}, {"segment.bytes", "16777216"}};
  auto t = l.find_topic(name);
  if (!t) {
    auto created = l.create_topic(name, 1, configs);
    if (!created && created.code() != errc::topic_exists) return created.error();
    t = l.find_topic(name);
    if (!t) return make_error(errc::unknown_topic, "cannot create " + std::string(name));
  } else if (!t->config().compact()) {
    if (auto r = l.set_topic_config(name, configs); !r) return r.error();
  }
  return t->get(0);
}

}  // namespace sluice::log
