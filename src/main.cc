// sluice: one program for the whole real-time data path. See README.md.

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"sluice: a real-time event streaming platform that speaks the Kafka protocol",
               "sluice"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sluice 0.1.0");
  std::vector<sluice::cli::action> actions = {
      sluice::cli::add_server_command(app, argc, argv),
      sluice::cli::add_topic_command(app),
      sluice::cli::add_produce_command(app),
      sluice::cli::add_consume_command(app),
      sluice::cli::add_group_command(app),
      sluice::cli::add_sql_command(app),
      sluice::cli::add_queue_command(app),
      sluice::cli::add_user_command(app),
      sluice::cli::add_acl_command(app),
      sluice::cli::add_token_command(app),
      sluice::cli::add_quota_command(app),
      sluice::cli::add_connector_command(app),
  };
  CLI11_PARSE(app, argc, argv);
  for (auto& a : actions) {
    int rc = a();
    if (rc >= 0) return rc;
  }
  return 0;
}
