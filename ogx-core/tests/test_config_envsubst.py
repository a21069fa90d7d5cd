"""`${env.X}` substitution in run configs: every syntax, every error, and what the loader does
with references that resolve to empty."""

from __future__ import annotations

import copy
from importlib import resources

import pytest

from ogx.config import ConfigError, load_run_config, parse_run_config
from ogx.config.envsubst import SubstitutionError, substitute
from ogx_api import Api

BASE_URL_PATH = "providers.inference[0].config.base_url"


def provider_tree(base_url: object) -> dict:
    """A config tree with one string at `providers.inference[0].config.base_url`."""
    return {"providers": {"inference": [{"provider_id": "vllm", "config": {"base_url": base_url}}]}}


def resolved_base_url(value: str, environ: dict[str, str]) -> object:
    return substitute(provider_tree(value), environ)["providers"]["inference"][0]["config"]["base_url"]


def problems_for(tree: object, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SubstitutionError) as info:
        substitute(tree, environ or {})
    return info.value.problems


# --- resolution ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        # ${env.X}
        ("${env.X}", {"X": "http://h:1/v1"}, "http://h:1/v1"),
        ("${env.X}", {"X": ""}, None),  # set but empty: a whole-string reference becomes null
        ("${env.my_var_2}", {"my_var_2": "ok"}, "ok"),
        # ${env.X:=default}
        ("${env.X:=fallback}", {}, "fallback"),
        ("${env.X:=fallback}", {"X": ""}, "fallback"),
        ("${env.X:=fallback}", {"X": "set"}, "set"),
        ("${env.X:=http://localhost:8000/v1}", {}, "http://localhost:8000/v1"),
        ("${env.X:=user:p@ss/w?a=b&c=$d{e}", {}, "user:p@ss/w?a=b&c=$d{e"),
        ("${env.X:=with spaces and :=}", {}, "with spaces and :="),
        ("${env.X:=}", {}, None),
        ("${env.X:=}", {"X": "set"}, "set"),
        # ${env.X:+value}
        ("${env.X:+vllm}", {}, None),
        ("${env.X:+vllm}", {"X": ""}, None),
        ("${env.X:+vllm}", {"X": "anything"}, "vllm"),
        ("${env.X:+http://a:1/b}", {"X": "1"}, "http://a:1/b"),
        ("${env.X:+}", {"X": "1"}, None),
    ],
    ids=lambda v: repr(v) if isinstance(v, str) else None,
)
def test_whole_string_reference_resolves(text: str, environ: dict[str, str], expected: object) -> None:
    assert resolved_base_url(text, environ) == expected


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("http://${env.HOST}:8000/v1", {"HOST": "gpu1"}, "http://gpu1:8000/v1"),
        ("${env.HOST}:${env.PORT}", {"HOST": "h", "PORT": "80"}, "h:80"),
        ("x${env.A}y${env.B}z", {"A": "1", "B": "2"}, "x1y2z"),
        ("${env.A:=a}/${env.B:+b}/${env.C}", {"B": "on", "C": "c"}, "a/b/c"),
        ("${env.A:=a}/${env.B:+b}/${env.C}", {"A": "A", "C": "c"}, "A//c"),
        ("a${env.X}b", {"X": ""}, "ab"),  # embedded empty value stays a string
        ("a-${env.X:+on}-b", {}, "a--b"),  # embedded empty `:+` does not null the field
        ("${env.X:+on}${env.Y:+on}", {}, ""),  # two references are not a whole-string reference
        ("prefix ${env.X:=}", {}, "prefix "),
    ],
)
def test_references_embedded_in_text_resolve(text: str, environ: dict[str, str], expected: str) -> None:
    assert resolved_base_url(text, environ) == expected


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("$${env.X}", {}, "${env.X}"),
        ("$${env.X}", {"X": "value"}, "${env.X}"),
        ("$${env.X:=d}", {}, "${env.X:=d}"),
        ("echo $${env.X} now", {}, "echo ${env.X} now"),
        ("$${env.X}=${env.X}", {"X": "1"}, "${env.X}=1"),
    ],
)
def test_double_dollar_escapes_a_reference(text: str, environ: dict[str, str], expected: str) -> None:
    assert resolved_base_url(text, environ) == expected


@pytest.mark.parametrize(
    "text", ["plain text", "$HOME and ${HOME}", "{braces} and $", "${ env.X }", "", "env.X"]
)
def test_strings_without_references_are_unchanged(text: str) -> None:
    assert resolved_base_url(text, {"X": "x", "HOME": "/root"}) == text


@pytest.mark.parametrize("value", ["${env.Y}", "$${env.Y}", "p@ss:w/rd$}{", "  spaced  "])
def test_values_from_the_environment_are_used_verbatim(value: str) -> None:
    assert resolved_base_url("${env.X}", {"X": value, "Y": "not this"}) == value


def test_non_string_scalars_are_untouched() -> None:
    tree = {"port": 8321, "ratio": 0.5, "on": True, "off": False, "nothing": None, "list": [1, [2.0, None]]}
    assert substitute(tree, {}) == tree


def test_substitution_returns_a_copy_and_leaves_the_input_alone() -> None:
    tree = provider_tree("${env.X}")
    before = copy.deepcopy(tree)
    result = substitute(tree, {"X": "new"})
    assert tree == before
    assert result["providers"]["inference"][0]["config"]["base_url"] == "new"


def test_nested_lists_and_dicts_are_substituted_everywhere() -> None:
    tree = {"a": [{"b": ["${env.X}", {"c": "${env.Y:=y}"}]}], "d": {"e": {"f": "${env.X:+on}"}}}
    assert substitute(tree, {"X": "x"}) == {"a": [{"b": ["x", {"c": "y"}]}], "d": {"e": {"f": "on"}}}


# --- errors ----------------------------------------------------------------------------------


def test_unset_variable_error_names_the_variable_the_path_and_suggests_a_default() -> None:
    [problem] = problems_for(provider_tree("${env.VLLM_URL}"))
    assert problem.startswith(f"{BASE_URL_PATH}: ")
    assert "VLLM_URL is not set" in problem
    assert "${env.VLLM_URL:=" in problem  # the hint shows the `:=` syntax with this variable


def test_unset_variable_embedded_in_text_is_an_error() -> None:
    [problem] = problems_for(provider_tree("http://${env.HOST}:8000"))
    assert problem.startswith(f"{BASE_URL_PATH}: ") and "HOST is not set" in problem


@pytest.mark.parametrize(
    ("tree", "path"),
    [
        ({"name": "${env.X}"}, "name"),
        ({"a": {"b": {"c": "${env.X}"}}}, "a.b.c"),
        ({"a": ["ok", ["ok", "${env.X}"]]}, "a[1][1]"),
        ({"models": [{"aliases": ["m", "${env.X}"]}]}, "models[0].aliases[1]"),
        ("${env.X}", "<root>"),
    ],
)
def test_error_path_follows_the_yaml_structure(tree: object, path: str) -> None:
    [problem] = problems_for(tree)
    assert problem.startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("${env.}", "${env.}"),
        ("${env.X:-y}", "${env.X:-y}"),
        ("${env.X:?required}", "${env.X:?required}"),
        ("${env.X", "${env.X"),
        ("http://${env.HOST", "${env.HOST"),
        ("${env.1X}", "${env.1X}"),
        ("${env.X-Y}", "${env.X-Y}"),
        ("${env.X }", "${env.X }"),
        ("a ${env.} b", "${env.}"),
    ],
)
def test_malformed_reference_is_an_error_naming_path_and_fragment(text: str, fragment: str) -> None:
    [problem] = problems_for(provider_tree(text), {"X": "x", "HOST": "h"})
    assert problem.startswith(f"{BASE_URL_PATH}: malformed reference ")
    assert repr(fragment) in problem
    assert "${env.NAME:=default}" in problem  # says what is accepted


def test_malformed_reference_next_to_a_valid_one_is_reported_once() -> None:
    [problem] = problems_for({"k": "${env.A} ${env.}"}, {"A": "a"})
    assert "malformed reference '${env.}'" in problem


def test_nested_reference_in_a_default_is_an_error_not_a_literal() -> None:
    # Shell users write `${X:-${Y}}`; nesting is not supported, and silently producing the
    # literal text "${env.Y}" (e.g. as a base URL) would fail much later and far away.
    problems = problems_for(provider_tree("${env.X:=${env.Y}}"), {"Y": "y"})
    assert problems and all(p.startswith(f"{BASE_URL_PATH}: ") for p in problems)


def test_every_problem_is_reported_at_once_in_document_order() -> None:
    tree = {
        "providers": {
            "inference": [
                {"provider_id": "a", "config": {"base_url": "${env.A_URL}", "key": "${env.A_KEY}"}},
                {"provider_id": "b", "config": {"base_url": "${env.B:-x}"}},
            ]
        }
    }
    problems = problems_for(tree)
    assert len(problems) == 3
    assert problems[0].startswith("providers.inference[0].config.base_url: ") and "A_URL" in problems[0]
    assert problems[1].startswith("providers.inference[0].config.key: ") and "A_KEY" in problems[1]
    assert problems[2].startswith("providers.inference[1].config.base_url: malformed")


# --- through the loader ----------------------------------------------------------------------


def run_config(provider_id: str, model_provider_id: str | None = None, **config: object) -> dict:
    tree: dict = {
        "version": 2,
        "providers": {
            "inference": [{"provider_id": provider_id, "provider_type": "remote::vllm", "config": config}]
        },
    }
    if model_provider_id is not None:
        tree["registered_resources"] = {"models": [{"model_id": "m", "provider_id": model_provider_id}]}
    return tree


def test_provider_whose_id_resolves_empty_is_disabled() -> None:
    config = parse_run_config(run_config("${env.VLLM_URL:+vllm}"), {})
    assert config.providers[Api.inference] == []
    assert config.enabled_providers() == []


def test_provider_whose_id_resolves_is_enabled() -> None:
    config = parse_run_config(
        run_config("${env.VLLM_URL:+vllm}", base_url="${env.VLLM_URL}"), {"VLLM_URL": "u"}
    )
    [(api, provider)] = config.enabled_providers()
    assert (api, provider.provider_id, provider.config) == (Api.inference, "vllm", {"base_url": "u"})


@pytest.mark.parametrize(("environ", "models"), [({}, []), ({"VLLM_URL": "u"}, ["m"])])
def test_model_whose_provider_id_resolves_empty_is_dropped(
    environ: dict[str, str], models: list[str]
) -> None:
    tree = run_config("${env.VLLM_URL:+vllm}", model_provider_id="${env.VLLM_URL:+vllm}")
    config = parse_run_config(tree, environ)
    assert [m.model_id for m in config.registered_resources.models] == models


def test_optional_field_resolving_empty_becomes_null() -> None:
    config = parse_run_config(run_config("vllm", api_key="${env.VLLM_API_KEY:=}"), {})
    assert config.providers[Api.inference][0].config == {"api_key": None}


@pytest.mark.parametrize(("environ", "port"), [({}, 8321), ({"OGX_PORT": "9000"}, 9000)])
def test_substituted_strings_are_coerced_by_the_schema(environ: dict[str, str], port: int) -> None:
    config = parse_run_config({"version": 2, "server": {"port": "${env.OGX_PORT:=8321}"}}, environ)
    assert config.server.port == port


def test_loader_raises_config_error_listing_every_substitution_problem() -> None:
    tree = run_config("vllm", base_url="${env.VLLM_URL}", api_key="${env.}")
    with pytest.raises(ConfigError) as info:
        parse_run_config(tree, {}, source="run.yaml")
    assert len(info.value.problems) == 2
    message = str(info.value)
    assert "in run.yaml" in message
    assert f"  - {BASE_URL_PATH}: environment variable VLLM_URL is not set" in message
    assert "  - providers.inference[0].config.api_key: malformed reference" in message


def test_loader_reads_os_environ_when_no_environ_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OGX_TEST_ENVSUBST_PORT", "9123")
    config = parse_run_config({"version": 2, "server": {"port": "${env.OGX_TEST_ENVSUBST_PORT}"}})
    assert config.server.port == 9123


def test_load_run_config_substitutes_from_the_given_environ(tmp_path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "version: 2\n"
        "providers:\n"
        "  inference:\n"
        "    - provider_id: ${env.VLLM_URL:+vllm}\n"
        "      provider_type: remote::vllm\n"
        "      config:\n"
        "        base_url: ${env.VLLM_URL:=http://localhost:8000/v1}\n"
    )
    config = load_run_config(path, environ={"VLLM_URL": "http://gpu:8000/v1"})
    assert config.providers[Api.inference][0].config == {"base_url": "http://gpu:8000/v1"}


EMBEDDED = ["llama-cpp", "minilm"]
TOOL_RUNTIMES = ["builtin", "mcp"]  # always on


@pytest.mark.parametrize(
    ("environ", "provider_ids"),
    [
        ({}, [*EMBEDDED, "faiss"]),
        ({"VLLM_URL": "http://gpu:8000/v1"}, [*EMBEDDED, "vllm", "faiss"]),
        ({"OLLAMA_URL": "http://box:11434"}, [*EMBEDDED, "ollama", "faiss"]),
        ({"AWS_REGION": "us-east-1"}, [*EMBEDDED, "bedrock", "faiss"]),
        (
            {"VLLM_URL": "http://gpu:8000/v1", "AWS_REGION": "eu-west-1"},
            [*EMBEDDED, "vllm", "bedrock", "faiss"],
        ),
        ({"PGVECTOR_HOST": "db.internal"}, [*EMBEDDED, "faiss", "pgvector"]),
    ],
)
def test_starter_serves_the_embedded_models_and_switches_remote_providers_on_by_environment(
    environ: dict[str, str], provider_ids: list[str]
) -> None:
    with resources.as_file(resources.files("ogx.distributions") / "starter.yaml") as path:
        config = load_run_config(path, environ=environ)
    assert config.name == "starter"
    assert [p.provider_id for _, p in config.enabled_providers()] == [*provider_ids, *TOOL_RUNTIMES]
