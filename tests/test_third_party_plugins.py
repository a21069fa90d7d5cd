"""Third parties ship providers as ordinary packages.

Wheels of `ogx-api` and `ogx` are built from the workspace and installed into a fresh venv outside
it, next to two tiny distributions whose sources live in `tests/third_party/`: `ogx-echo`
(`remote::echo`, depends on `ogx-api` alone) and `ogx-broken` (its entry-point module fails to
import). Everything is then driven through the installed `ogx` command, as a user would: the
working plugin is discovered and served, the broken one is reported and skipped, and it is named
when a config needs a provider nobody provides.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

WORKSPACE = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "third_party"

BUILD_TIMEOUT = 180.0
INSTALL_TIMEOUT = 300.0
CLI_TIMEOUT = 60.0
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 15.0
REQUEST_TIMEOUT = 10.0

ECHO_MODEL = "echo/echo-1"
ECHO_PREFIX = "echo: "
MISSING_SDK = "ogx_broken_missing_sdk"


def _run(
    cmd: list[str | Path], *, timeout: float, check: bool = True, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run a command with a bound on its time; a timeout or (with `check`) a failure fails the test
    with the command's whole output."""
    printable = " ".join(str(c) for c in cmd)
    try:
        result = subprocess.run(
            [str(c) for c in cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            **kwargs,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"`{printable}` did not finish within {timeout:g}s\nstdout:\n{exc.stdout}\nstderr:\n{exc.stderr}"
        )
    if check and result.returncode != 0:
        pytest.fail(
            f"`{printable}` exited with {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("`uv` is not on PATH: this test builds wheels and a venv with it")
    return uv


def _clean_environ(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that would leak the workspace venv or the
    caller's OGX settings into the installed `ogx`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OGX_") and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")
    }
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Installation:
    """A venv outside the workspace holding the built `ogx`/`ogx-api` wheels and both plugins."""

    root: Path
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def ogx(self) -> Path:
        return self.venv / "bin" / "ogx"

    def environ(self, **extra: str) -> dict[str, str]:
        return _clean_environ(OGX_DATA_DIR=str(self.root / "data"), **extra)

    def cli(
        self, *args: str | Path, check: bool = True, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return _run(
            [self.ogx, *args],
            timeout=CLI_TIMEOUT,
            check=check,
            cwd=self.root,
            env=self.environ(**(extra_env or {})),
        )

    def providers_json(self, **extra_env: str) -> list[dict[str, str]]:
        result = self.cli("providers", "--json", extra_env=extra_env)
        try:
            rows = json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            pytest.fail(
                f"`ogx providers --json` did not print JSON ({exc})\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        assert isinstance(rows, list), (
            f"`ogx providers --json` printed {type(rows).__name__}, expected a list"
        )
        return rows

    def write_config(self, name: str, provider_type: str) -> Path:
        path = self.root / f"{name}.yaml"
        path.write_text(
            "version: 2\n"
            f"name: {name}\n"
            "providers:\n"
            "  inference:\n"
            "    - provider_id: echo\n"
            f"      provider_type: {provider_type}\n"
            "      config:\n"
            f"        prefix: {json.dumps(ECHO_PREFIX)}\n"
        )
        return path


@pytest.fixture(scope="session")
def ogx_wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Wheels of `ogx-api` and `ogx`, built once per session as `uv build --no-sources` builds
    them for release (so they name their dependencies, not workspace paths)."""
    out = tmp_path_factory.mktemp("wheels")
    uv = _uv()
    for package in ("ogx-api", "ogx"):
        _run(
            [uv, "build", "--wheel", "--no-sources", "--package", package, "-o", out, "--quiet"],
            timeout=BUILD_TIMEOUT,
            cwd=WORKSPACE,
        )
    wheels = sorted(out.glob("*.whl"))
    names = sorted(w.name.split("-")[0] for w in wheels)
    assert names == ["ogx", "ogx_api"], f"expected one wheel each of ogx and ogx-api in {out}, got {wheels}"
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            metadata = next(
                archive.read(n).decode() for n in archive.namelist() if n.endswith(".dist-info/METADATA")
            )
        requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
        assert not [r for r in requires if "file:" in r or "@" in r], (
            f"{wheel.name} depends on local paths, so it cannot be published: {requires}"
        )
    return wheels


@pytest.fixture(scope="session")
def installation(ogx_wheels: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Installation:
    """A fresh venv outside the workspace: the two wheels, `ogx-echo` and `ogx-broken` (built from
    copies of their sources, as a third party's own checkout would be)."""
    root = tmp_path_factory.mktemp("third-party")
    assert not root.resolve().is_relative_to(WORKSPACE), f"{root} must be outside the workspace {WORKSPACE}"
    sources = []
    for name in ("ogx-echo", "ogx-broken"):
        shutil.copytree(TEMPLATES / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        sources.append(root / name)
    venv = root / "venv"
    uv = _uv()
    # cwd=root: uv must not pick up the workspace's settings or sources.
    env = _clean_environ()
    _run([uv, "venv", "--quiet", "--python", sys.executable, venv], timeout=CLI_TIMEOUT, cwd=root, env=env)
    installed = Installation(root=root, venv=venv)
    _run(
        [uv, "pip", "install", "--quiet", "--python", installed.python, *ogx_wheels, *sources],
        timeout=INSTALL_TIMEOUT,
        cwd=root,
        env=env,
    )
    located = _run(
        [
            installed.python,
            "-c",
            "import ogx, ogx_api, ogx_echo; print(ogx.__file__, ogx_api.__file__, ogx_echo.__file__)",
        ],
        timeout=CLI_TIMEOUT,
        cwd=root,
        env=installed.environ(),
    ).stdout.split()
    for module_file in located:
        assert Path(module_file).resolve().is_relative_to(venv.resolve()), (
            f"{module_file} is imported from outside the fresh venv {venv}: the installation is not isolated"
        )
    assert installed.ogx.exists(), f"installing the ogx wheel did not create the `ogx` command in {venv}/bin"
    return installed


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    log: Path
    data_dir: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = "no attempt yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"`ogx run` exited with {process.returncode} before answering /v1/health\n"
                f"server log:\n{log.read_text(errors='replace')}"
            )
        try:
            response = httpx.get(f"{base_url}/health", timeout=2.0)
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}: {response.text}"
        except httpx.HTTPError as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    pytest.fail(
        f"`ogx run` did not answer /v1/health within {STARTUP_TIMEOUT:g}s (last attempt: {last_error})\n"
        f"server log:\n{log.read_text(errors='replace')}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SHUTDOWN_TIMEOUT)


@contextlib.contextmanager
def _serve(installation: Installation, config: Path, data_dir: Path) -> Iterator[RunningServer]:
    port = _free_port()
    log = installation.root / f"{config.stem}-server.log"
    base_url = f"http://127.0.0.1:{port}/v1"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(installation.ogx), "run", str(config), "--port", str(port), "--host", "127.0.0.1"],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=installation.root,
            env=_clean_environ(OGX_DATA_DIR=str(data_dir)),
        )
        try:
            _wait_until_healthy(process, base_url, log)
            yield RunningServer(base_url=base_url, log=log, data_dir=data_dir)
        finally:
            _stop(process)


@pytest.fixture(scope="module")
def echo_server(
    installation: Installation, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    config = installation.write_config("echo-e2e", "remote::echo")
    with _serve(installation, config, tmp_path_factory.mktemp("ogx-data")) as server:
        yield server


@pytest.fixture
def client(echo_server: RunningServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=echo_server.base_url, api_key="none", timeout=REQUEST_TIMEOUT, max_retries=0
    ) as c:
        yield c


def _row(rows: list[dict[str, str]], **match: str) -> dict[str, str] | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


# --- `ogx providers` ----------------------------------------------------------------------------


def test_providers_lists_the_third_party_provider_and_the_broken_plugin(installation: Installation) -> None:
    rows = installation.providers_json()

    echo = _row(rows, provider_type="remote::echo")
    assert echo is not None, f"remote::echo from the installed ogx-echo is not listed: {rows}"
    assert echo["distribution"] == "ogx-echo", f"remote::echo should come from ogx-echo: {echo}"
    assert echo["plugin"] == "echo" and echo["api"] == "inference", echo
    assert echo["status"] == "loaded", f"remote::echo should be loaded: {echo}"

    broken = _row(rows, plugin="broken")
    assert broken is not None, f"the broken plugin's import failure is not reported: {rows}"
    assert broken["distribution"] == "ogx-broken", broken
    assert broken["status"].startswith("failed"), f"the broken plugin should be listed as failed: {broken}"
    assert "import" in broken["status"] and MISSING_SDK in broken["status"], (
        f"the failure should say the import failed and name the missing module {MISSING_SDK!r}: {broken}"
    )
    assert _row(rows, provider_type="remote::broken") is None, (
        f"a plugin that failed to import declares nothing: {rows}"
    )


def test_disabled_plugin_is_not_reported(installation: Installation) -> None:
    rows = installation.providers_json(OGX_DISABLED_PLUGINS="broken")

    assert _row(rows, plugin="broken") is None, f"OGX_DISABLED_PLUGINS=broken should skip the plugin: {rows}"
    assert not [r for r in rows if r["status"] != "loaded"], f"no failure should be left: {rows}"
    echo = _row(rows, provider_type="remote::echo")
    assert echo is not None and echo["status"] == "loaded", (
        f"disabling broken must not hide remote::echo: {rows}"
    )


# --- `ogx run` ----------------------------------------------------------------------------------


def test_config_needing_a_missing_provider_fails_naming_the_broken_plugin(installation: Installation) -> None:
    config = installation.write_config("needs-missing", "remote::nonexistent")

    result = installation.cli("run", config, "--port", str(_free_port()), "--host", "127.0.0.1", check=False)

    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode != 0, (
        f"`ogx run` should refuse a config whose provider is not installed\n{output}"
    )
    lines = [line for line in result.stderr.splitlines() if "remote::nonexistent" in line]
    assert lines, f"stderr should name the missing provider type remote::nonexistent\n{output}"
    assert any("ogx-broken" in line and "broken" in line for line in lines), (
        f"the error about remote::nonexistent should name the plugin that failed to load (broken, ogx-broken)\n{output}"
    )


def test_server_starts_although_a_plugin_is_broken(echo_server: RunningServer) -> None:
    providers = httpx.get(f"{echo_server.base_url}/providers", timeout=REQUEST_TIMEOUT)
    assert providers.status_code == 200, providers.text
    echo = [p for p in providers.json()["data"] if p["provider_id"] == "echo"]
    assert echo, f"/v1/providers does not list the configured echo provider: {providers.json()}"
    assert echo[0]["provider_type"] == "remote::echo", echo[0]
    assert echo[0]["plugin"]["distribution"] == "ogx-echo", echo[0]
    assert echo[0]["config"] == {"prefix": ECHO_PREFIX}, (
        f"the run config's provider config should reach EchoConfig: {echo[0]}"
    )

    log = echo_server.log_text()
    assert "ogx-broken" in log, f"the server log should warn about the plugin it skipped:\n{log}"
    assert (echo_server.data_dir / "echo-e2e").is_dir(), (
        f"the server should keep its state under OGX_DATA_DIR ({echo_server.data_dir})"
    )


def test_models_include_the_discovered_echo_model(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]

    assert ECHO_MODEL in ids, f"models discovered from remote::echo are named provider_id/model: {ids}"


def test_chat_completion_is_answered_by_the_third_party_provider(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=ECHO_MODEL,
        messages=[
            {"role": "system", "content": "You repeat."},
            {"role": "user", "content": "first message"},
            {"role": "assistant", "content": "echo: first message"},
            {"role": "user", "content": "hello there"},
        ],
    )

    assert completion.object == "chat.completion"
    assert completion.model == ECHO_MODEL, (
        f"the response names the model the client asked for: {completion.model}"
    )
    assert completion.choices[0].message.content == f"{ECHO_PREFIX}hello there", completion
    assert completion.choices[0].finish_reason == "stop", completion


def test_streamed_chat_completion_is_relayed(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=ECHO_MODEL, messages=[{"role": "user", "content": "stream these words please"}], stream=True
    )
    with stream:
        chunks = list(stream)

    assert len(chunks) > 2, f"the echo provider streams one chunk per word, got {chunks}"
    assert all(c.object == "chat.completion.chunk" and c.model == ECHO_MODEL for c in chunks), chunks
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == f"{ECHO_PREFIX}stream these words please", f"streamed text {text!r} from {chunks}"
    assert chunks[-1].choices[0].finish_reason == "stop", chunks[-1]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_unimplemented_endpoint_is_an_http_error(client: openai.OpenAI, stream: bool) -> None:
    with pytest.raises(openai.APIStatusError) as raised:
        client.completions.create(model=ECHO_MODEL, prompt="hello", stream=stream)

    assert raised.value.status_code == 501, (
        f"NotImplementedByProvider raised by a third-party provider should be a 501: {raised.value}"
    )
    assert "chat completions only" in raised.value.message, raised.value.message
