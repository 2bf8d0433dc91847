#pragma once
// Every option of `sluice server` is declared once, as a CLI11 option bound to the field of
// the module's own config struct that it sets (so its default is the module's default and
// `--help` shows it). The same table reads the TOML config file: a key is an option's long
// name without the dashes, its value goes through the option's own parsing and checks, and
// a flag given on the command line wins over the file.

#include <CLI/CLI.hpp>
#include <string>

namespace sluice::cli {

// Applies the TOML file at `path` to the options of `cmd` that the command line did not set.
// Throws std::runtime_error naming the file and the key for an unknown key, a value of the
// wrong type, or one the option refuses.
void apply_toml_file(CLI::App& cmd, const std::string& path);

}  // namespace sluice::cli
