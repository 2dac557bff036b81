"""Analytic Hierarchy Process: criterion weights from a Saaty pairwise matrix, with its consistency ratio."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from pmo_events.figures.money import readable_number
from pmo_portfolio.shared.errors import InvalidCommand

#: Saaty's random consistency index by matrix size (Saaty 1980, as tabulated in most AHP texts).
RANDOM_INDEX = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49}
CONSISTENCY_LIMIT = 0.1
SAATY_SCALE = frozenset(Fraction(n) for n in range(1, 10)) | frozenset(Fraction(1, n) for n in range(2, 10))


@dataclass(frozen=True)
class PairwiseResult:
    weights: tuple[float, ...]
    principal_eigenvalue: float
    consistency_index: float
    consistency_ratio: float


def _as_written(value: object) -> str:
    """A judgement as the user wrote it: `12`, `1/12`, never `Decimal('12')` or `'12'`."""
    return readable_number(value) if isinstance(value, Decimal) else str(value)


def parse_judgement(value: object, row: int, column: int) -> Fraction:
    """A judgement such as 3, "3", "1/3" or 0.333…, which must sit on the Saaty 1-9 scale."""
    field = f"pairwise_matrix.{row}.{column}"
    try:
        judgement = Fraction(str(value)).limit_denominator(9) if not isinstance(value, bool) else None
    except (ValueError, ZeroDivisionError):
        judgement = None
    if judgement is None or judgement not in SAATY_SCALE:
        raise InvalidCommand(field, f"{_as_written(value)} is not on Saaty's scale (1 to 9, or 1/2 to 1/9)")
    return judgement


def check_matrix(matrix: list[list[Fraction]]) -> None:
    """Square, 1 on the diagonal, and reciprocal: a_ji = 1 / a_ij."""
    size = len(matrix)
    if size not in RANDOM_INDEX:
        raise InvalidCommand("pairwise_matrix", f"a pairwise matrix has 1 to {max(RANDOM_INDEX)} rows")
    for i, row in enumerate(matrix):
        if len(row) != size:
            raise InvalidCommand(f"pairwise_matrix.{i}", f"row {i} has {len(row)} entries, expected {size}")
        if row[i] != 1:
            raise InvalidCommand(f"pairwise_matrix.{i}.{i}", "a criterion compared with itself is 1")
        for j in range(i + 1, size):
            if matrix[j][i] * row[j] != 1:
                raise InvalidCommand(
                    f"pairwise_matrix.{j}.{i}", f"the matrix must be reciprocal: entry [{j}][{i}] must be 1/{row[j]}"
                )


def pairwise_weights(matrix: list[list[Fraction]]) -> PairwiseResult:
    """Weights = the principal right eigenvector normalised to sum 1; CR = CI / RI, CI = (λmax - n) / (n - 1)."""
    check_matrix(matrix)
    import numpy as np  # imported when first needed: memory at start (issue 17)

    size = len(matrix)
    values = np.array([[float(x) for x in row] for row in matrix])
    eigenvalues, eigenvectors = np.linalg.eig(values)
    principal = int(np.argmax(eigenvalues.real))
    lambda_max = float(eigenvalues[principal].real)
    vector = np.abs(eigenvectors[:, principal].real)
    weights = vector / vector.sum()
    index = (lambda_max - size) / (size - 1) if size > 2 else 0.0
    ratio = index / RANDOM_INDEX[size] if RANDOM_INDEX[size] else 0.0
    return PairwiseResult(tuple(float(w) for w in weights), lambda_max, max(index, 0.0), max(ratio, 0.0))
