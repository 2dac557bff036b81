"""A TypeScript client generated from the committed OpenAPI documents compiles under `tsc --strict`.

openapi-typescript and tsc are pinned in tools/openapi-typescript/package.json (`make tools`).
`typescript/usage.ts` touches a field of every list and report of the four services; `wrong.ts`
reads a field no response has and must be refused, so the generated types are real ones.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .openapi_documents import OPENAPI_DIR, SERVICES

HERE = Path(__file__).parent
TOOLS = HERE.parents[1] / "tools" / "openapi-typescript" / "node_modules" / ".bin"


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert (TOOLS / "openapi-typescript").exists() and (TOOLS / "tsc").exists(), "run `make tools` first"
    work = tmp_path_factory.mktemp("typescript")
    for name in ("usage.ts", "wrong.ts", "tsconfig.json"):
        shutil.copy(HERE / "typescript" / name, work / name)
    (work / "generated").mkdir()
    for service in SERVICES:
        generated = work / "generated" / f"{service}.d.ts"
        command = [str(TOOLS / "openapi-typescript"), str(OPENAPI_DIR / f"{service}.json"), "-o", str(generated)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
    return work


def _tsc(work: Path, *files: str) -> subprocess.CompletedProcess[str]:
    command = [str(TOOLS / "tsc"), "-p", str(work / "tsconfig.json")]
    if files:  # compile these files alone, with the same options
        command = [str(TOOLS / "tsc"), "--strict", "--noEmit", "--target", "ES2022", "--module", "ES2022",
                   "--moduleResolution", "bundler", *(str(work / f) for f in files)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=work)


def test_the_generated_client_compiles_under_strict_with_every_list_and_report(client_dir: Path) -> None:
    result = _tsc(client_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_field_no_response_has_does_not_compile(client_dir: Path) -> None:
    result = _tsc(client_dir, "wrong.ts")
    assert result.returncode != 0 and "no_such_field" in result.stdout, result.stdout
