"""Second opinion on draft posts for school accounts, checked against the social media policy.

Pure: rules come from a folder of TOML files (data/review in this repository), the
do-not-publish list from a path the caller passes in, citations from a `cite` callable.
"""

from knowledge.review.evaluate import DraftReport, evaluate_drafts
from knowledge.review.models import REASONS, DraftInput, Finding, Reason, Review, Span
from knowledge.review.reviewer import Cite, Reviewer, cite_from_chunks
from knowledge.review.rules import RulesError, load_rules

__all__ = [
    "REASONS", "Cite", "DraftInput", "DraftReport", "Finding", "Reason", "Review", "Reviewer",
    "RulesError", "Span", "cite_from_chunks", "evaluate_drafts", "load_rules",
]
