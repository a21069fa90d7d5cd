"""Google's `google-genai` SDK against `ogx run`: create, system instruction, streaming,
conversations by `previous_interaction_id`, function tools round trip, get/delete/cancel,
background and errors, under each major of the SDK (3.x, 2.x, 1.x).

The workspace installs google-genai 3.x, which like 2.x reads the `steps` revision of the
Interactions API (OGX answers it so from its `x-goog-api-client`) and calls `/v1/interactions`
(1.x and 2.x call `/v1beta`); 1.x reads the original (`outputs`) one. The checks are written once
for every major: `blocks` and the event names hide the difference. The last test runs this module
again in a child pytest for each earlier major (`EARLIER`), that version on `PYTHONPATH`
(installed by uv with no dependencies into a temporary directory: the workspace's own pydantic,
httpx and google-auth serve it, and any requirement they do not meet is installed beside it; uv's
cache makes later runs offline), against this module's server.

One `ogx run` serves two models: `gemma`, the real small base model through ogx-vllm (the text
is not asserted), and `scripted`, the scripted backend (`ogx_api.testing.scripted`), which
answers by rule where a check needs a known answer (a tool call, what the model was sent)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from google import genai
from google.genai import types
from google.genai._interactions import BadRequestError, NotFoundError
from packaging.requirements import Requirement

from ogx_api.testing.scripted import Reply, Rule, ScriptedBackend, ToolCall, message_text

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Interactions usage is experimental:UserWarning"),
]

EARLIER = ("2.34.0", "1.75.0")  # the last 2.x (steps, /v1beta) and the last 1.x (outputs)
SERVER_ENV = "OGX_GOOGLE_SDK_SERVER"  # set for the child run: the server to use, not start
VERSION_ENV = "OGX_GOOGLE_SDK_VERSION"  # set for the child run: the SDK it must have imported

MAJOR = int(genai.__version__.split(".")[0])
STEPS = MAJOR >= 2  # 2.x and 3.x read the steps revision, 1.x `outputs`
DEFAULT_PATH = "/v1/interactions" if MAJOR >= 3 else "/v1beta/interactions"  # the default api_version
CREATED, DELTA, COMPLETED = (
    ("interaction.created", "step.delta", "interaction.completed")
    if STEPS
    else ("interaction.start", "content.delta", "interaction.complete")
)
SHORT = {"temperature": 0, "max_output_tokens": 8, "seed": 1}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def _transcript(request: dict[str, Any]) -> str:
    return " | ".join(f"{m['role']}: {message_text(m)}" for m in request["messages"])


RULES = [
    Rule(
        tool="get_weather",
        last_role="user",
        reply=Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]),
    ),
    Rule(last_role="tool", reply=Reply(text=lambda r: f"It is {r['messages'][-1]['content']} in Paris.")),
    Rule(contains="transcript", reply=Reply(text=_transcript)),
]


def blocks(interaction: Any) -> list[Any]:
    """The answer's blocks: 1.x's `outputs`; in 2.x's `steps`, a model output step stands for
    its content (any other step is a block itself)."""
    if not STEPS:
        return list(interaction.outputs or [])
    out: list[Any] = []
    for step in interaction.steps or []:
        out.extend(step.content if step.type == "model_output" else [step])
    return out


def text(interaction: Any) -> str:
    return "".join(block.text for block in blocks(interaction) if block.type == "text")


class _Given:
    """The server of the run that started this one (it checks the server's log itself)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def assert_no_server_errors(self) -> None:
        pass


@pytest.fixture(scope="module")
def ogx(request, ogx_runner, tmp_path_factory) -> Iterator[Any]:
    if os.environ.get(SERVER_ENV):
        yield _Given(os.environ[SERVER_ENV])
        return
    model_server = request.getfixturevalue("ogx_model_server")
    with ScriptedBackend(RULES, models=["scripted"]) as scripted:
        providers = {"vllm": model_server.base_url, "scripted": scripted.base_url}
        config = {
            "version": 2,
            "name": "e2e-google-sdk",
            "providers": {
                "inference": [
                    {"provider_id": name, "provider_type": "remote::vllm", "config": {"base_url": url}}
                    for name, url in providers.items()
                ]
            },
            "registered_resources": {
                "models": [
                    {
                        "model_id": "gemma",
                        "provider_id": "vllm",
                        "provider_model_id": model_server.chat_model,
                    },
                    {"model_id": "scripted", "provider_id": "scripted", "provider_model_id": "scripted"},
                ]
            },
        }
        with ogx_runner(config, tmp_path_factory.mktemp("ogx-google-sdk")) as server:
            yield server
            server.assert_no_server_errors()


@pytest.fixture(scope="module")
def paths_called() -> list[str]:
    return []


@pytest.fixture(scope="module")
def client(ogx, paths_called):
    """The SDK as a user makes it, with its default `api_version` and HTTP library (3.x: httpx2);
    the paths it calls are recorded."""
    expected = os.environ.get(VERSION_ENV, genai.__version__)
    assert genai.__version__ == expected, f"imported google-genai {genai.__version__} from {genai.__file__}"
    with (httpx2 if MAJOR >= 3 else httpx).Client(
        timeout=120, event_hooks={"request": [lambda r: paths_called.append(r.url.path)]}
    ) as http:
        options = types.HttpOptions(base_url=ogx.base_url, timeout=120_000, httpx_client=http)
        yield genai.Client(api_key="unused", http_options=options)


def test_create_with_the_real_model(client, paths_called):
    interaction = client.interactions.create(
        model="gemma",
        input="Name a colour.",
        system_instruction="Answer in one word.",
        # 2.x drops top_k (the steps revision has none); 1.x and 3.x send it
        generation_config={**SHORT, "top_p": 0.9, "top_k": 20, "stop_sequences": ["\n\n"]},
    )
    assert paths_called[-1] == DEFAULT_PATH, f"google-genai {genai.__version__}'s default api_version"
    assert interaction.status in ("completed", "incomplete") and interaction.model == "gemma"
    assert blocks(interaction) and blocks(interaction)[-1].type == "text"
    if STEPS:
        assert [step.type for step in interaction.steps] == ["model_output"]
        assert interaction.output_text == text(interaction), "the SDK's own summary of the steps"
    else:
        assert interaction.role == "model"
    assert interaction.usage.total_output_tokens > 0
    assert interaction.usage.total_tokens >= interaction.usage.total_input_tokens


def test_the_system_instruction_and_earlier_turns_reach_the_model(client):
    first = client.interactions.create(
        model="scripted", input="A transcript, please.", system_instruction="Be brief."
    )
    assert text(first) == "system: Be brief. | user: A transcript, please."
    assert first.system_instruction == "Be brief."
    second = client.interactions.create(
        model="scripted", input="Another transcript.", previous_interaction_id=first.id
    )
    assert second.previous_interaction_id == first.id
    assert text(second) == (
        "user: A transcript, please. | assistant: system: Be brief. | user: A transcript, please."
        " | user: Another transcript."
    ), "the earlier turns are sent again; the system instruction belongs to its interaction only"


def test_streaming_with_the_real_model(client):
    events = list(
        client.interactions.create(
            model="gemma", input="Count: one, two,", generation_config=SHORT, stream=True
        )
    )
    kinds = [e.event_type for e in events]
    assert kinds[0] == CREATED and kinds[-1] == COMPLETED and DELTA in kinds, kinds
    streamed = "".join(e.delta.text for e in events if e.event_type == DELTA and e.delta.type == "text")
    final = events[-1].interaction
    assert text(final) == streamed and final.status in ("completed", "incomplete")
    assert final.usage.total_output_tokens > 0


async def test_the_async_client(ogx):
    options = types.HttpOptions(base_url=ogx.base_url, timeout=120_000)
    client = genai.Client(api_key="unused", http_options=options).aio
    created = await client.interactions.create(model="scripted", input="Hello, async.")
    assert text(created) == "echo: Hello, async."
    stream = await client.interactions.create(model="scripted", input="Hello, stream.", stream=True)
    events = [event async for event in stream]
    assert [events[0].event_type, events[-1].event_type] == [CREATED, COMPLETED]
    assert text(events[-1].interaction) == "echo: Hello, stream."


def test_function_tool_round_trip(client):
    call = client.interactions.create(
        model="scripted", input="What is the weather in Paris?", tools=[WEATHER]
    )
    assert call.status == "requires_action"
    (asked,) = blocks(call)
    assert (asked.type, asked.name, asked.arguments) == ("function_call", "get_weather", {"city": "Paris"})

    result = {"type": "function_result", "call_id": asked.id, "name": "get_weather", "result": "sunny"}
    answer = client.interactions.create(
        model="scripted", input=[result], tools=[WEATHER], previous_interaction_id=call.id
    )
    assert answer.status == "completed" and text(answer) == "It is sunny in Paris."


def test_a_streamed_function_call(client):
    events = list(
        client.interactions.create(
            model="scripted", input="What is the weather in Paris?", tools=[WEATHER], stream=True
        )
    )
    assert [events[0].event_type, events[-1].event_type] == [CREATED, COMPLETED]
    assert any(e.event_type == DELTA for e in events)
    final = events[-1].interaction
    assert final.status == "requires_action"
    (asked,) = blocks(final)
    assert (asked.type, asked.name, asked.arguments) == ("function_call", "get_weather", {"city": "Paris"})


def test_a_function_call_and_result_the_real_backend_reads(client):
    call = {"type": "function_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
    result = {"type": "function_result", "call_id": "call_1", "name": "get_weather", "result": "sunny, 21 C"}
    question = "What is the weather in Paris?"
    history: list[dict[str, Any]] = (
        [{"type": "user_input", "content": [{"type": "text", "text": question}]}, call, result]
        if STEPS
        else [
            {"role": "user", "content": question},
            {"role": "model", "content": [call]},
            {"role": "user", "content": [result]},
        ]
    )
    interaction = client.interactions.create(
        model="gemma", tools=[WEATHER], generation_config=SHORT, input=history
    )
    assert interaction.status in ("completed", "incomplete", "requires_action")
    assert blocks(interaction)


def test_get_delete_and_cancel(client):
    created = client.interactions.create(model="scripted", input="Hello there.")
    fetched = client.interactions.get(created.id, include_input=True)
    assert fetched.id == created.id and fetched.input == "Hello there."
    assert text(fetched) == text(created) == "echo: Hello there."
    with pytest.raises(BadRequestError):
        client.interactions.cancel(created.id)  # only a running background interaction can be cancelled

    client.interactions.delete(created.id)
    with pytest.raises(NotFoundError):
        client.interactions.get(created.id)


def test_a_background_interaction_is_fetched_and_replayed(client):
    started = client.interactions.create(model="scripted", input="In the background.", background=True)
    assert started.status in ("in_progress", "completed")
    deadline = time.monotonic() + 30
    while (done := client.interactions.get(started.id)).status == "in_progress":
        assert time.monotonic() < deadline, "the background interaction did not finish"
        time.sleep(0.1)
    assert done.status == "completed" and text(done) == "echo: In the background."
    replayed = list(client.interactions.get(started.id, stream=True))
    assert [replayed[0].event_type, replayed[-1].event_type] == [CREATED, COMPLETED]
    assert text(replayed[-1].interaction) == text(done)


def test_the_sdk_asking_for_v1alpha_reaches_the_same_interactions(client, ogx):
    options = types.HttpOptions(base_url=ogx.base_url, api_version="v1alpha", timeout=120_000)
    alpha = genai.Client(api_key="unused", http_options=options)
    created = alpha.interactions.create(model="gemma", input="Name a colour.", generation_config=SHORT)
    assert created.status in ("completed", "incomplete") and blocks(created)
    assert text(client.interactions.get(created.id)) == text(created)
    alpha.interactions.delete(created.id)
    with pytest.raises(NotFoundError):
        client.interactions.get(created.id)


def test_errors_the_sdk_raises(client, ogx):
    with pytest.raises(NotFoundError) as caught:
        client.interactions.create(model="no-such-model", input="hi")
    error: dict[str, Any] = caught.value.body["error"]  # type: ignore[index]
    assert error["code"] == "model_not_found" and "gemma" in error["message"]

    with pytest.raises(NotFoundError):
        client.interactions.create(model="scripted", input="hi", previous_interaction_id="v1_missing")
    with pytest.raises(BadRequestError) as caught:
        client.interactions.create(model="scripted", input="hi", background=True, store=False)
    assert "store" in caught.value.body["error"]["message"]  # type: ignore[index]
    ogx.assert_no_server_errors()


# -- the earlier majors ------------------------------------------------------------------------


def _uv() -> list[str] | None:
    """uv as the workspace's scripts run it (scripts/bootstrap.sh installs it for `python3`)."""
    for command in (["python3", "-m", "uv"], [shutil.which("uv") or "uv"]):
        try:
            if subprocess.run([*command, "--version"], capture_output=True).returncode == 0:
                return command
        except OSError:
            continue
    return None


def _install(target: Path, requirements: list[str]) -> None:
    """`uv pip install --target`: offline from uv's cache first, then from PyPI."""
    uv = _uv()
    if uv is None:
        pytest.skip(f"uv is not installed (scripts/bootstrap.sh installs it), so {requirements} cannot be")
    install = [*uv, "pip", "install", "--quiet", "--python", sys.executable, "--target", str(target)]
    if subprocess.run([*install, "--offline", *requirements], capture_output=True).returncode != 0:
        done = subprocess.run([*install, *requirements], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            pytest.skip(f"could not install {requirements} from PyPI: {done.stderr.strip()[-500:]}")


def _unmet(target: Path) -> list[str]:
    """The requirements of the google-genai in `target` that the workspace does not meet."""
    (dist,) = (metadata.PathDistribution(p) for p in target.glob("google_genai-*.dist-info"))
    unmet = []
    for requirement in map(Requirement, dist.requires or []):
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an extra's
        try:
            met = requirement.specifier.contains(metadata.version(requirement.name), prereleases=True)
        except metadata.PackageNotFoundError:
            met = False
        if not met:
            unmet.append(str(requirement))
    return unmet


@pytest.mark.parametrize("version", EARLIER)
def test_the_same_checks_pass_with_an_earlier_google_genai(ogx, version, tmp_path):
    if os.environ.get(VERSION_ENV):
        pytest.skip(f"this is the run with google-genai {genai.__version__}")
    _install(tmp_path, ["--no-deps", f"google-genai=={version}"])
    unmet = _unmet(tmp_path)
    if unmet:  # the workspace's pins moved past what this version accepts: those go beside it
        _install(tmp_path, unmet)
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, SERVER_ENV: ogx.base_url, VERSION_ENV: version}
    command = [sys.executable, "-m", "pytest", __file__, "-q", "-x"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"with google-genai {version}:\n{done.stdout[-6000:]}{done.stderr[-2000:]}"
    assert " passed" in done.stdout and " failed" not in done.stdout, done.stdout[-2000:]
    ogx.assert_no_server_errors()
