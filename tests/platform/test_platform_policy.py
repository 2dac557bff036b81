"""checkov over what a cluster and a registry would receive: both rendered overlays (and the Ingress
variant) and the Dockerfile. Zero failed checks; every skip carries its reason next to it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .manifests import K8S, ROOT, kustomize, overlay_with

pytestmark = pytest.mark.platform

CHECKOV = ROOT / "tools" / "checkov" / ".venv" / "bin" / "checkov"
#: checkov's own lists, offline: no Prisma Cloud mappings, no downloaded policies, no telemetry.
OFFLINE = {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_SKIP_DOWNLOAD": "TRUE", "BC_API_KEY": ""}


def _checkov(*args: str) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: `make tools` installs it (tools/checkov)")
    env = {**os.environ, **OFFLINE}
    result = subprocess.run(
        [str(CHECKOV), *args, "--skip-download", "--compact", "--output", "json"],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert result.stdout.strip(), result.stderr[-2000:]
    report = json.loads(result.stdout)
    return report if isinstance(report, dict) else {"reports": report}


def _assert_clean(report: dict[str, Any], minimum_passed: int) -> None:
    summary, results = report["summary"], report["results"]
    failed = [f"{c['check_id']} {c['check_name']}: {c['resource']}" for c in results["failed_checks"]]
    assert summary["failed"] == 0 and not failed, "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] >= minimum_passed, "checkov read the files"
    for skipped in results["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment") or ""
        assert len(reason) > 20, f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"


def test_the_rendered_overlays_pass_checkov(tmp_path: Path) -> None:
    for overlay in ("dev", "prod"):
        docs = kustomize(K8S / "overlays" / overlay)
        (tmp_path / f"{overlay}.yaml").write_text(yaml.safe_dump_all(docs))
    variant = tmp_path / "ingress"
    variant.mkdir()
    (tmp_path / "prod-ingress.yaml").write_text(
        yaml.safe_dump_all(overlay_with(variant, "prod", without="gateway-api", add="ingress"))
    )
    report = _checkov("--directory", str(tmp_path), "--framework", "kubernetes")
    _assert_clean(report, minimum_passed=1000)
    skipped = {(c["check_id"], c["file_path"].lstrip("/")) for c in report["results"]["skipped_checks"]}
    assert {file for _, file in skipped} <= {"dev.yaml"}, "production skips nothing"


def test_the_dockerfile_passes_checkov() -> None:
    report = _checkov("--file", str(ROOT / "Dockerfile"), "--framework", "dockerfile")
    _assert_clean(report, minimum_passed=20)
    assert not report["results"]["skipped_checks"]
