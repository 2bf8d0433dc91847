#include "cli/server_options.h"

#include <toml++/toml.h>

#include <sstream>

namespace sluice::cli {

namespace {

// The option's command-line form of a TOML value.
std::string as_argument(const toml::node& v, const std::string& key) {
  if (auto s = v.value<std::string>()) return *s;
  if (v.is_boolean()) return *v.value<bool>() ? "true" : "false";
  if (v.is_integer()) return std::to_string(*v.value<int64_t>());
  if (v.is_floating_point()) {
    std::ostringstream o;
    o << *v.value<double>();
    return o.str();
  }
  throw std::runtime_error("'" + key + "' must be a string, a number or a boolean");
}

}  // namespace

void apply_toml_file(CLI::App& cmd, const std::string& path) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw std::runtime_error(path + ": " + std::string(e.description()));
  }
  for (auto&& [k, v] : t) {
    std::string key(k.str());
    CLI::Option* opt = key.empty() ? nullptr : cmd.get_option_no_throw("--" + key);
    if (!opt || key == "config") throw std::runtime_error("unknown key '" + key + "' in " + path);
    if (opt->count() > 0) continue;  // the command line wins
    try {
      opt->add_result(as_argument(v, key));
      opt->run_callback();
    } catch (const CLI::Error& e) {
      throw std::runtime_error(path + ": " + key + ": " + e.what());
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(path + ": " + e.what());
    }
  }
}

}  // namespace sluice::cli
