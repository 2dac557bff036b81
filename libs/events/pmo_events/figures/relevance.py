"""How relevant a recorded lesson is to a proposal or a project: one rule, so intake and portfolio offer alike.

A lesson is offered when it shares something with what the team is working on: its category or one of
its tags is named in the team's words, or words of its own match theirs (the database's full-text search
finds those and ranks them). Being from the same portfolio adds weight but is never a reason on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

#: What each kind of match adds to a lesson's relevance.
CATEGORY_WEIGHT = Decimal("3")
TAG_WEIGHT = Decimal("2")
WORD_WEIGHT = Decimal("0.5")
MAX_WORDS_COUNTED = 5
TEXT_RANK_WEIGHT = Decimal("1")
SAME_PORTFOLIO_WEIGHT = Decimal("1")
#: At most this many distinct words of a proposal or project are searched for.
MAX_TERMS = 32

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "and",
        "any",
        "are",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "can",
        "could",
        "did",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "into",
        "its",
        "itself",
        "just",
        "more",
        "most",
        "much",
        "must",
        "new",
        "not",
        "now",
        "off",
        "once",
        "only",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "too",
        "under",
        "until",
        "very",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
    ]
)


def search_terms(*texts: str | None) -> tuple[str, ...]:
    """The distinct words worth searching for, in order: lower-case letters and digits, 3+ long, no stop words."""
    terms: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall((text or "").lower()):
            if len(word) >= 3 and word not in _STOPWORDS and not word.isdigit():
                terms.setdefault(word)
    return tuple(terms)[:MAX_TERMS]


def stem(word: str) -> str:
    """A light English stem, so `contracts` names `contract` and `vendors'` names `vendor` in a reason."""
    for suffix in ("ings", "ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _stems(*texts: str) -> frozenset[str]:
    return frozenset(stem(w) for text in texts for w in _WORD.findall(text.lower()))


@dataclass(frozen=True)
class Subject:
    """What lessons are offered to: a proposal or a project, by its portfolio and its own words."""

    portfolio_id: str
    terms: tuple[str, ...]
    #: A project is not offered its own lessons.
    project_id: str | None = None


@dataclass(frozen=True)
class LessonCandidate:
    """A recorded lesson the full-text search found, with the search's own rank (higher: closer)."""

    lesson_id: str
    project_id: str
    portfolio_id: str
    title: str
    description: str
    category: str
    tags: tuple[str, ...]
    recorded_at: datetime
    text_rank: float = 0.0


@dataclass(frozen=True)
class RelatedLesson:
    """A lesson worth offering, how relevant it is and why."""

    lesson: LessonCandidate
    relevance: Decimal
    category: str | None
    tags: tuple[str, ...]
    words: tuple[str, ...]
    same_portfolio: bool

    @property
    def reason(self) -> str:
        """`same category: procurement; tags: vendor; words: vendor, contract; same portfolio`."""
        parts = [f"same category: {self.category}"] if self.category else []
        parts += [f"tags: {', '.join(self.tags)}"] if self.tags else []
        parts += [f"words: {', '.join(self.words)}"] if self.words else []
        parts += ["similar wording"] if not parts else []
        parts += ["same portfolio"] if self.same_portfolio else []
        return "; ".join(parts)


def rank_lessons(subject: Subject, candidates: Iterable[LessonCandidate], *, limit: int) -> list[RelatedLesson]:
    """The `limit` most relevant lessons, most relevant first (ties: the newest, then by id)."""
    pool = [c for c in candidates if subject.project_id is None or c.project_id != subject.project_id]
    top_rank = max((c.text_rank for c in pool), default=0.0)
    related = [r for r in (_relevance(subject, c, top_rank) for c in pool) if r is not None]
    related.sort(key=lambda r: (-r.relevance, -r.lesson.recorded_at.timestamp(), r.lesson.lesson_id))
    return related[:limit]


def _relevance(subject: Subject, lesson: LessonCandidate, top_rank: float) -> RelatedLesson | None:
    theirs = frozenset(stem(t) for t in subject.terms)
    category = lesson.category if _named(lesson.category, theirs) else None
    tags = tuple(t for t in lesson.tags if _named(t, theirs))
    ours = _stems(lesson.title, lesson.description, lesson.category, *lesson.tags)
    words = tuple(t for t in subject.terms if stem(t) in ours)
    if category is None and not tags and not words and lesson.text_rank <= 0:
        return None
    same_portfolio = lesson.portfolio_id == subject.portfolio_id
    score = (
        (CATEGORY_WEIGHT if category else Decimal(0))
        + TAG_WEIGHT * len(tags)
        + WORD_WEIGHT * min(len(words), MAX_WORDS_COUNTED)
        + _normalised(lesson.text_rank, top_rank) * TEXT_RANK_WEIGHT
        + (SAME_PORTFOLIO_WEIGHT if same_portfolio else Decimal(0))
    )
    return RelatedLesson(
        lesson, score.quantize(Decimal("0.01")), category, tags, words[:MAX_WORDS_COUNTED], same_portfolio
    )


def _named(phrase: str, stems: frozenset[str]) -> bool:
    """A category or tag is named when every word of it is among the subject's words."""
    own = _stems(phrase)
    return bool(own) and own <= stems


def _normalised(rank: float, top_rank: float) -> Decimal:
    """The search's rank as a share of the best one in this search (engines rank on different scales)."""
    if rank <= 0 or top_rank <= 0:
        return Decimal(0)
    return Decimal(str(round(rank / top_rank, 2)))
