"""Scoring model (weighted and AHP) and assessors' scores: given events, when a command, then events."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pmo_events.contracts.portfolio import CandidateScored, ScoringModelSet
from pmo_portfolio.candidates.domain import scoring
from pmo_portfolio.candidates.domain.ahp import pairwise_weights, parse_judgement
from pmo_portfolio.candidates.domain.assessments import Assessment, assessment_of, scorecard
from pmo_portfolio.candidates.domain.scoring import CriterionInput, ScoreCandidate
from pmo_portfolio.shared.errors import InvalidCommand, NotBoardMember, RuleViolation

from .support import NOW, created, given, model_set, registered, scored

THREE = (CriterionInput("value", "Value"), CriterionInput("risk", "Risk"), CriterionInput("fit", "Fit"))


def test_weighted_model_normalises_the_weights() -> None:
    criteria = (CriterionInput("value", "Value", Decimal(3)), CriterionInput("risk", "Risk", Decimal(1)))
    [event] = scoring.set_weighted_model(given(created()), criteria, "ann")
    assert isinstance(event, ScoringModelSet)
    assert [(c.key, c.weight) for c in event.criteria] == [("value", Decimal("0.75")), ("risk", Decimal("0.25"))]


def test_weighted_model_refuses_duplicate_keys_and_missing_weights() -> None:
    with pytest.raises(InvalidCommand):
        scoring.set_weighted_model(given(created()), (CriterionInput("a", "A", Decimal(1)),) * 2, "ann")
    with pytest.raises(InvalidCommand) as refused:
        scoring.set_weighted_model(given(created()), (CriterionInput("a", "A"),), "ann")
    assert refused.value.field == "criteria.0.weight"


def test_ahp_reproduces_the_published_three_criteria_example() -> None:
    """The classic worked example (Saaty's 1-9 scale; e.g. Teknomo's AHP tutorial, many OR textbooks):

    [[1, 3, 5], [1/3, 1, 3], [1/5, 1/3, 1]] → weights 0.637, 0.258, 0.105; λmax 3.039; CI 0.019; CR 0.033.
    """
    matrix: list[list[object]] = [[1, 3, 5], ["1/3", 1, 3], ["1/5", "1/3", 1]]
    judgements = [[parse_judgement(v, i, j) for j, v in enumerate(row)] for i, row in enumerate(matrix)]
    result = pairwise_weights(judgements)
    assert [round(w, 3) for w in result.weights] == [0.637, 0.258, 0.105]
    assert round(result.principal_eigenvalue, 3) == 3.039
    assert round(result.consistency_index, 3) == 0.019
    assert round(result.consistency_ratio, 3) == 0.033
    [event] = scoring.set_pairwise_model(given(created()), THREE, matrix, "ann")
    assert isinstance(event, ScoringModelSet)
    assert event.method == "pairwise"
    assert event.consistency_ratio == Decimal("0.0332")
    assert [c.weight for c in event.criteria] == [Decimal("0.6370"), Decimal("0.2583"), Decimal("0.1047")]
    assert event.pairwise_matrix == (("1", "3", "5"), ("1/3", "1", "3"), ("1/5", "1/3", "1"))


def test_a_perfectly_consistent_matrix_has_ratio_zero() -> None:
    matrix: list[list[object]] = [[1, 2, 4], ["1/2", 1, 2], ["1/4", "1/2", 1]]
    [event] = scoring.set_pairwise_model(given(created()), THREE, matrix, "ann")
    assert event.consistency_ratio == Decimal("0")
    assert [c.weight for c in event.criteria] == [Decimal("0.5714"), Decimal("0.2857"), Decimal("0.1429")]


def test_an_inconsistent_matrix_is_refused_explaining_the_ratio() -> None:
    """a > b (9), b > c (9) yet c > a (9): intransitive judgements."""
    matrix = [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]]
    with pytest.raises(InvalidCommand) as refused:
        scoring.set_pairwise_model(given(created()), THREE, matrix, "ann")
    assert refused.value.field == "pairwise_matrix"
    assert "consistency ratio" in refused.value.message and "0.1" in refused.value.message


@pytest.mark.parametrize(
    ("matrix", "field"),
    [
        ([[1, 3, 5], [3, 1, 3], ["1/5", "1/3", 1]], "pairwise_matrix.1.0"),
        ([[2, 3, 5], ["1/3", 1, 3], ["1/5", "1/3", 1]], "pairwise_matrix.0.0"),
        ([[1, 10, 5], ["1/10", 1, 3], ["1/5", "1/3", 1]], "pairwise_matrix.0.1"),
        ([[1, "x", 5], ["1/3", 1, 3], ["1/5", "1/3", 1]], "pairwise_matrix.0.1"),
        ([[1, 3], ["1/3", 1]], "pairwise_matrix"),
    ],
)
def test_a_matrix_off_scale_or_not_reciprocal_names_the_entry(matrix, field) -> None:
    with pytest.raises(InvalidCommand) as refused:
        scoring.set_pairwise_model(given(created()), THREE, matrix, "ann")
    assert refused.value.field == field


def _score(assessor: str, analyst: bool = False, **scores: int) -> ScoreCandidate:
    return ScoreCandidate("c-1", assessor, analyst, scores, "looks good", NOW)


HISTORY = (created(board=("bea", "bob")), registered("c-1"), model_set(("value", "0.75"), ("risk", "0.25")))


def test_a_board_member_of_this_portfolio_scores_every_criterion() -> None:
    [event] = scoring.score(given(*HISTORY), _score("bea", value=4, risk=2))
    assert event == CandidateScored(
        portfolio_id="pf-1",
        candidate_id="c-1",
        assessor="bea",
        scores={"value": 4, "risk": 2},
        comment="looks good",
        scored_at=NOW,
        submission=1,
        score_id=event.score_id,
    )


def test_an_analyst_scores_but_an_outsider_does_not() -> None:
    assert scoring.score(given(*HISTORY), _score("ann", analyst=True, value=4, risk=2))
    with pytest.raises(NotBoardMember):
        scoring.score(given(*HISTORY), _score("zed", value=4, risk=2))


@pytest.mark.parametrize(
    ("scores", "field"),
    [({"value": 4}, "scores.risk"), ({"value": 4, "risk": 6}, "scores.risk"), ({"value": 0, "risk": 1}, "scores.value"),
     ({"value": 4, "risk": 2, "cost": 3}, "scores.cost")],
)  # fmt: skip
def test_scores_are_1_to_5_on_exactly_the_models_criteria(scores, field) -> None:
    with pytest.raises(InvalidCommand) as refused:
        scoring.score(given(*HISTORY), _score("bea", **scores))
    assert refused.value.field == field


def test_scoring_needs_a_model() -> None:
    with pytest.raises(RuleViolation, match="no scoring model"):
        scoring.score(given(created(), registered("c-1")), _score("bea", value=4))


def test_the_criterion_score_is_the_mean_of_the_assessors_latest_scores() -> None:
    history = (
        *HISTORY,
        scored("c-1", "bea", value=2, risk=1),
        scored("c-1", "bea", value=4, risk=2),  # bea changed her mind: only her latest counts
        scored("c-1", "bob", value=5, risk=3),
        scored("c-1", "ann", value=3, risk=3),
    )
    state = given(*history)
    criteria = state.scoring_model.criteria  # type: ignore[union-attr]
    means = scoring.criterion_means(scorecard(history, {}).of(state.candidates["c-1"]), criteria)
    assert means == {"value": Decimal("4"), "risk": Decimal("2.6667")}
    assert scoring.weighted_score(means, criteria) == Decimal("3.6667")  # 0.75*4 + 0.25*2.6667


def test_a_resubmission_starts_a_fresh_assessment() -> None:
    for history in (
        (*HISTORY, scored("c-1", "bea", value=4, risk=2), registered("c-1", submission=2)),
        (*HISTORY, registered("c-1", submission=2), scored("c-1", "bea", submission=1, value=4, risk=2)),
    ):
        assert scorecard(history, {}).of(given(*history).candidates["c-1"]) == []
    rescored = (*HISTORY, registered("c-1", submission=2), scored("c-1", "bea", submission=2, value=4, risk=2))
    [fresh] = scorecard(rescored, {}).of(given(*rescored).candidates["c-1"])
    assert (fresh.assessor, fresh.submission) == ("bea", 2)


def test_a_score_records_its_own_stream_and_the_submission_it_assesses() -> None:
    [first] = scoring.score(given(*HISTORY), _score("bea", value=4, risk=2))
    [second] = scoring.score(given(*HISTORY), _score("bea", value=4, risk=2))
    assert first.submission == 1
    assert first.score_id and second.score_id and first.score_id != second.score_id


@pytest.mark.parametrize(("judgement", "written"), [(Decimal("12"), "12"), ("12", "12"), ("0", "0"), (10, "10")])
def test_a_judgement_off_the_scale_reads_as_it_was_written(judgement: object, written: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        parse_judgement(judgement, 0, 1)
    assert refused.value.message == f"{written} is not on Saaty's scale (1 to 9, or 1/2 to 1/9)"


@pytest.mark.parametrize("submission", [2, None])
def test_an_assessment_built_without_validation_equals_the_validated_one(submission: int | None) -> None:
    """`assessment_of` skips validating again what the score's contract validated: the same values, fields set
    and JSON as `Assessment(...)` gives, and a scores dict of its own."""
    score = CandidateScored(
        portfolio_id="pf-1", candidate_id="c-1", assessor="ann", scores={"value": 4, "risk": 2},
        comment="solid", scored_at=NOW, submission=submission,
    )  # fmt: skip
    built = assessment_of(score, 3)
    validated = Assessment(
        assessor="ann", scores={"value": 4, "risk": 2}, comment="solid", scored_at=NOW,
        submission=submission if submission is not None else 3,
    )  # fmt: skip
    assert built == validated
    assert built.model_fields_set == validated.model_fields_set
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.scores is not score.scores
