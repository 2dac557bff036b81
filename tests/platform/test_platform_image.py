"""The container image: Dockerfile lint and rules, build context, entry point dispatch."""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.platform

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint.sh"
SERVICES = {"intake": 8001, "portfolio": 8002, "resourcing": 8003, "reporting": 8004}
INSTALLED = ["libs/events", "libs/servicekit"] + [f"services/{name}" for name in SERVICES]
RUNTIME_PACKAGES = {"libjemalloc2"}  # what the final stage may take from apt: libraries, no tooling
JEMALLOC = "/usr/local/lib/libjemalloc.so.2"


def _tool(name: str) -> str:
    """A command-line tool from this virtual environment (or PATH); fail, never skip, without it."""
    candidate = Path(sysconfig.get_path("scripts")) / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: `make env` installs it (requirements-dev.txt)")
    return found


def _stages() -> list[list[str]]:
    """Dockerfile instructions (continuations joined), grouped by build stage."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_hadolint_is_clean():
    result = subprocess.run(
        [_tool("hadolint"), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_final_stage_is_slim_python_non_root_without_build_tools():
    stages = _stages()
    assert len(stages) >= 2, "the Dockerfile must be multi-stage"
    final = stages[-1]
    assert re.match(r"FROM python:3\.11-slim(\S*)? AS \w+", final[0], re.IGNORECASE), final[0]
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users, "the final stage must switch to a non-root USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "USER must be a numeric non-root id (runAsNonRoot)"
    joined = "\n".join(final)
    for tool in ("gcc", "build-essential", "pip install", "-dev "):
        assert tool not in joined, f"the final stage must not carry build tooling: {tool}"
    for line in final:
        for install in re.findall(r"apt-get install ([^&]*)", line):
            packages = [word for word in install.split() if not word.startswith("-")]
            assert set(packages) <= RUNTIME_PACKAGES, f"the final stage installs only runtime libraries: {packages}"
            assert "--no-install-recommends" in install
            assert "rm -rf /var/lib/apt/lists/*" in line, "the apt lists must not stay in the image"
    assert any(line.startswith("COPY --from=") for line in final)
    assert any(line.startswith("ENTRYPOINT") and "pmo-entrypoint" in line for line in final)


def test_services_run_under_jemalloc():
    """pymalloc's arenas fragment over a catch-up (docs/performance.md, memory): the image preloads jemalloc
    from an architecture-free path and sends Python's small objects to it."""
    final = _stages()[-1]
    joined = "\n".join(final)
    assert f"ln -s /usr/lib/*-linux-gnu/libjemalloc.so.2 {JEMALLOC}" in joined
    assert f"test -r {JEMALLOC}" in joined, "the build must fail when the link points nowhere"
    env = " ".join(line for line in final if line.startswith("ENV "))
    assert f"LD_PRELOAD={JEMALLOC}" in env
    assert "PYTHONMALLOC=malloc" in env
    assert re.search(r"MALLOC_CONF=\S*background_thread:true", env)
    installs = [i for i, line in enumerate(final) if "libjemalloc2" in line and line.startswith("RUN ")]
    users = [i for i, line in enumerate(final) if line.startswith("USER ")]
    assert installs and users and installs[0] < users[0], "apt runs as root, before USER"


def test_build_installs_services_with_constraints_but_not_devstack():
    build = "\n".join("\n".join(stage) for stage in _stages()[:-1])
    install = next(line for line in build.splitlines() if "pip install" in line and "./libs" in line)
    assert "-c constraints.txt" in install
    for package in INSTALLED:
        assert f"./{package}" in install, f"{package} is not installed in the image"
    assert "devstack" not in DOCKERFILE.read_text(), "pmo_devstack is development-only"


def test_dockerignore_keeps_local_state_out_of_the_context():
    lines = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for pattern in ("**/.git", "**/.venv", "var", "libs/devstack", "**/__pycache__"):
        assert pattern in lines, f".dockerignore misses {pattern}"
    for needed in ["constraints.txt", "deploy/docker", *INSTALLED]:
        assert needed not in lines, f".dockerignore excludes {needed}, which the build needs"


@pytest.fixture()
def stub_path(tmp_path: Path) -> str:
    """A PATH whose `python` only reports how it was called."""
    stub = tmp_path / "python"
    stub.write_text('#!/bin/sh\necho "port=${PMO_HTTP_PORT:-unset} args=$*"\n')
    stub.chmod(0o755)
    return f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"


def _entrypoint(path: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "PMO_HTTP_PORT"}
    environ["HEALTHCHECK_PORT_FILE"] = os.devnull  # never the host's /tmp
    environ.update(env, PATH=path)
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["intake"], "port=8001 args=-m pmo_intake serve"),
        (["portfolio", "serve"], "port=8002 args=-m pmo_portfolio serve"),
        (["resourcing"], "port=8003 args=-m pmo_resourcing serve"),
        (["reporting", "serve"], "port=8004 args=-m pmo_reporting serve"),
        (["migrate", "intake"], "port=unset args=-m pmo_intake migrate"),
        (["rebuild", "reporting"], "port=unset args=-m pmo_reporting rebuild"),
        (["portfolio", "rebuild"], "port=unset args=-m pmo_portfolio rebuild"),
    ],
)
def test_entrypoint_runs_each_service_and_command(stub_path, args, expected):
    result = _entrypoint(stub_path, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_entrypoint_keeps_a_configured_port(stub_path):
    result = _entrypoint(stub_path, "intake", PMO_HTTP_PORT="9001")
    assert result.stdout.strip() == "port=9001 args=-m pmo_intake serve"


def test_entrypoint_rejects_an_unknown_service(stub_path):
    result = _entrypoint(stub_path, "migrate", "billing")
    assert result.returncode == 64
    assert "unknown service 'billing'" in result.stderr


def test_entrypoint_help_and_passthrough(stub_path):
    usage = _entrypoint(stub_path).stdout
    for word in ("migrate SERVICE", "rebuild SERVICE", *SERVICES):
        assert word in usage
    assert _entrypoint(stub_path, "echo", "hello").stdout.strip() == "hello"


def test_entrypoint_is_executable():
    assert os.access(ENTRYPOINT, os.X_OK)


HEALTHCHECK = ROOT / "deploy" / "docker" / "healthcheck.py"


def test_the_image_has_a_healthcheck_that_runs_the_script():
    final = _stages()[-1]
    (instruction,) = [line for line in final if line.upper().startswith("HEALTHCHECK ")]
    assert "pmo-healthcheck.py" in instruction and "--timeout=" in instruction
    assert any("deploy/docker/healthcheck.py" in line for line in final if line.startswith("COPY"))


def test_the_entrypoint_leaves_the_port_for_the_healthcheck(stub_path, tmp_path):
    port_file = tmp_path / "port"
    result = _entrypoint(stub_path, "portfolio", HEALTHCHECK_PORT_FILE=str(port_file))
    assert result.returncode == 0 and port_file.read_text().strip() == "8002"
    one_shot = tmp_path / "one-shot"
    _entrypoint(stub_path, "migrate", "intake", HEALTHCHECK_PORT_FILE=str(one_shot))
    assert not one_shot.exists(), "a one-shot command serves nothing"


def _healthcheck(port_file: Path, **env: str) -> int:
    environ = {k: v for k, v in os.environ.items() if k != "PMO_HTTP_PORT"}
    environ.update(env, HEALTHCHECK_PORT_FILE=str(port_file))
    return subprocess.run([sys.executable, str(HEALTHCHECK)], env=environ, capture_output=True, timeout=30).returncode


def test_the_healthcheck_asks_the_service_for_liveness(tmp_path):
    import http.server
    import threading

    class Live(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/health/live" else 404)
            self.end_headers()

        def log_message(self, *args):
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Live)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port_file = tmp_path / "port"
    try:
        port_file.write_text(f"{server.server_address[1]}\n")
        assert _healthcheck(port_file) == 0
        assert _healthcheck(port_file, PMO_HTTP_PORT=str(server.server_address[1])) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert _healthcheck(port_file) == 1, "nothing answers any more"
    assert _healthcheck(tmp_path / "absent") == 0, "a one-shot command counts as healthy"
