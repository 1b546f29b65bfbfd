"""Pure policy knowledge: documents -> chunks -> index -> answers and draft reviews.

Nothing here talks to a chat platform or a database; callers pass folders and text in
and get pydantic models back.
"""

from knowledge.answer import KnowledgeBase
from knowledge.ingest import Library, load_folder
from knowledge.models import Answer, Chunk, Match, NextStep

__all__ = ["Answer", "Chunk", "KnowledgeBase", "Library", "Match", "NextStep", "load_folder"]
