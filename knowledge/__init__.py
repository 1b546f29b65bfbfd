"""Pure policy knowledge: documents -> chunks -> index -> answers and draft reviews.

Nothing here talks to a chat platform or a database; callers pass folders and text in
and get pydantic models back.
"""
