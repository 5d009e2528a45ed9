"""The `hotline` command: the administrator's way to run the hotline (cli.main), one module
per group of subcommands, each imported only when one of its subcommands runs."""
