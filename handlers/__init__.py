"""Platform-neutral use cases: ask, report, second opinion, decisions.

Adapters in `bot/` turn Slack payloads, Teams activities or console lines into the request
models of `handlers.models`, call a handler, and render the `Reply` it returns. Nothing in
this package knows which chat platform or database is on the other side.
"""
