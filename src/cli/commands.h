#pragma once
// The `sluice` subcommands. Each registers its options on the CLI11 app and runs when chosen.

#include <CLI/CLI.hpp>
#include <functional>

namespace sluice::cli {

// Returns the action to run when the subcommand was chosen; it returns the exit code.
using action = std::function<int()>;

action add_server_command(CLI::App& app, int argc, char** argv);
action add_topic_command(CLI::App& app);
action add_produce_command(CLI::App& app);
action add_consume_command(CLI::App& app);
action add_group_command(CLI::App& app);
action add_sql_command(CLI::App& app);
action add_queue_command(CLI::App& app);
action add_user_command(CLI::App& app);
action add_acl_command(CLI::App& app);
action add_token_command(CLI::App& app);
action add_quota_command(CLI::App& app);
action add_connector_command(CLI::App& app);

}  // namespace sluice::cli
