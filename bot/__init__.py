"""The runtime: settings, the SQLite store, the chat platforms (Slack, Teams, console) and the CLI."""
