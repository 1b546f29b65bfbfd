"""The second opinion on a draft post: every detector, findings with policy citations.

Rules are loaded once into a `Reviewer`; `review()` is then pure and fast (regexes are
precompiled). The learned verdict model (`model.py`; the shipped weights are
data/review/verdict_model.json) weighs the cue rules' findings with the draft's wording:
it may pass a draft a cue fired on, or flag one no cue did. Two findings are certain and
never overruled: a learner on the do-not-publish list, and learner images the form says
were not checked for permission. Each finding
cites the policy: `cite(phrase)` (e.g. the knowledge base's `find_passage`) turns the
rule's policy phrase into the section path and the verbatim passage; without it the
phrase itself is the citation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from knowledge.models import Chunk
from knowledge.review.contacts import ContactDetector
from knowledge.review.cues import CueDetector
from knowledge.review.do_not_publish import DoNotPublish
from knowledge.review.draft import Draft, Hit
from knowledge.review.links import LinkDetector
from knowledge.review.models import DraftInput, Finding, Review, Span
from knowledge.review.lexicon import FOLD
from knowledge.review.model import MODEL_FILE, ModelError, VerdictModel
from knowledge.review.rules import RuleSet, load_rules
from knowledge.text import normalise

Cite = Callable[[str], Chunk | None]


def cite_from_chunks(chunks: Sequence[Chunk]) -> Cite:
    """A `cite` that finds the first chunk containing a phrase (case, spacing, quotes ignored)."""

    def cite(phrase: str) -> Chunk | None:
        wanted = normalise(phrase)
        return next((c for c in chunks if wanted and wanted in normalise(c.text)), None)

    return cite


class Reviewer:
    def __init__(self, rules: RuleSet, do_not_publish: DoNotPublish | None = None, cite: Cite | None = None,
                 model: VerdictModel | None = None) -> None:
        uncited = sorted(set(model.reasons) - set(rules.policies)) if model else []
        if uncited:
            raise ModelError(f"{MODEL_FILE}: no rules file gives the policy for {uncited}")
        self.rules = rules
        self.cues = CueDetector(rules.cues)
        self.contacts = ContactDetector(rules.table("contacts"), rules.policies["contact_details"])
        self.links = LinkDetector(rules.table("links"), rules.policies["inappropriate_link"])
        self.image_policy = str(rules.table("flags").get("policy", rules.policies["image_permission"]))
        self.do_not_publish = do_not_publish
        self.model = model
        self.cite = cite
        self._citations: dict[str, tuple[str | None, str]] = {}

    @classmethod
    def from_folder(cls, rules_dir: Path, do_not_publish_path: Path | None = None, cite: Cite | None = None,
                    model_path: Path | None = None) -> Reviewer:
        """Load data/review-style rules, and the do-not-publish list and the verdict model's
        weights when their paths are given (without weights, the rules alone decide)."""
        rules = load_rules(Path(rules_dir))
        model = VerdictModel.load(model_path) if model_path is not None else None
        listed = None
        if do_not_publish_path is not None:
            listed = DoNotPublish.from_path(
                do_not_publish_path,
                rules.table("learners"),
                policy=rules.policies["learner_identification"],
                image_policy=rules.policies["image_permission"],
            )
        return cls(rules, listed, cite, model)

    def __repr__(self) -> str:
        listed = len(self.do_not_publish) if self.do_not_publish else 0
        return f"Reviewer({len(self.rules.cues)} cue rules, do-not-publish list of {listed} names)"

    def review(self, draft: DraftInput) -> Review:
        """"check" with findings (sorted by position) when anything needs a senior leader's look."""
        parsed = Draft.parse(draft.text, draft.target)
        folded = draft.text.translate(FOLD)
        cued = list(self._cue_hits(parsed, folded))
        if self.model:
            decision = self.model.decide(parsed, (hit.reason for hit in cued))
            if not decision.check:
                cued = []
            elif decision.hit:
                learned = decision.hit
                cued = [Hit(learned.reason, learned.start, learned.end, self.rules.policies[learned.reason])]
        findings: list[Finding] = []
        seen: list[Hit] = []
        for hit in sorted([*cued, *self._certain_hits(draft, parsed, folded)], key=lambda h: (h.start, -h.end)):
            if any(h.reason == hit.reason and h.start < hit.end and hit.start < h.end for h in seen):
                continue  # one finding per reason per stretch of text
            seen.append(hit)
            findings.append(self._finding(hit, draft.text))
        return Review(verdict="check" if findings else "fine", findings=findings)

    def _cue_hits(self, parsed: Draft, folded: str) -> Iterator[Hit]:
        """What the wording suggests: the cue rules, contact details and links."""
        yield from self.cues.find(parsed, folded)
        yield from self.contacts.find(parsed, folded)
        yield from self.links.find(parsed, folded)

    def _certain_hits(self, draft: DraftInput, parsed: Draft, folded: str) -> Iterator[Hit]:
        """What is known for sure: a listed learner, images without confirmed permission."""
        if self.do_not_publish:
            yield from self.do_not_publish.find(parsed, folded)
        if draft.contains_learner_images and draft.permission_checked is not True:
            media = next((s for s in parsed.segments if s.media), None)
            start, end = (media.start, media.end) if media else (0, 0)
            yield Hit("image_permission", start, end, self.image_policy)

    def _finding(self, hit: Hit, text: str) -> Finding:
        section, passage = self._citation(hit.policy)
        return Finding(
            reason=hit.reason,  # type: ignore[arg-type]  # rules.py checks reasons on load
            span=Span(start=hit.start, end=hit.end, text=text[hit.start:hit.end]),
            section=section,
            policy=passage,
        )

    def _citation(self, phrase: str) -> tuple[str | None, str]:
        if phrase not in self._citations:
            chunk = self.cite(phrase) if self.cite else None
            self._citations[phrase] = (chunk.section_path, chunk.text) if chunk else (None, phrase)
        return self._citations[phrase]
