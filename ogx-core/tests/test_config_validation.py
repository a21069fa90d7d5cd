"""Run-config validation (schema, cross-references, files) and provider-entry validation by the
resolver against each plugin's own config class. Every error names its YAML path."""

from __future__ import annotations

import sys
import textwrap
import types
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

from ogx.config import ConfigError, load_run_config, parse_run_config
from ogx.plugins import PluginInfo, PluginManager
from ogx.providers.resolver import prepare_providers, start_providers
from ogx_api import Api, ProviderSpec, hookimpl
from ogx_api.paths import run_data_dir_from

# --- helpers ---------------------------------------------------------------------------------


def problems(tree: object, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_run_config(tree, environ or {})
    return info.value.problems


def the_problem(tree: object) -> str:
    found = problems(tree)
    assert len(found) == 1, found
    return found[0]


def provider(provider_id: str = "vllm", provider_type: str = "remote::vllm", **extra: object) -> dict:
    return {"provider_id": provider_id, "provider_type": provider_type, **extra}


def config_with(inference: list[dict] | None = None, models: list[dict] | None = None, **top: object) -> dict:
    tree: dict = {"version": 2, "providers": {"inference": inference or [provider()]}}
    if models is not None:
        tree["registered_resources"] = {"models": models}
    return {**tree, **top}


# --- unknown keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tree", "path"),
    [
        ({"version": 2, "providrs": {}}, "providrs"),
        (config_with([provider(confg={"base_url": "x"})]), "providers.inference[0].confg"),
        (config_with(server={"prot": 1}), "server.prot"),
        (config_with(storage={"uri": "sqlite:///x.db"}), "storage.uri"),
        (
            config_with(models=[{"model_id": "m", "provider_id": "vllm", "model": "x"}]),
            "registered_resources.models[0].model",
        ),
        (config_with(registered_resources={"modles": []}), "registered_resources.modles"),
    ],
)
def test_unknown_key_is_an_error_naming_its_path(tree: dict, path: str) -> None:
    assert the_problem(tree) == f"{path}: unknown key (check its spelling and indentation)"


# --- wrong types and values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "path", "message", "got"),
    [
        ({"server": {"port": "abc"}}, "server.port", "valid integer", "'abc'"),
        ({"server": {"port": 70000}}, "server.port", "less than or equal to 65535", "70000"),
        ({"server": {"port": -1}}, "server.port", "greater than or equal to 0", "-1"),
        ({"server": {"workers": 0}}, "server.workers", "greater than or equal to 1", "0"),
        ({"server": {"model_refresh_interval": 0}}, "server.model_refresh_interval", "greater than 0", "0"),
        ({"storage": {"pool_size": 0}}, "storage.pool_size", "greater than or equal to 1", "0"),
        ({"server": {"host": 127}}, "server.host", "valid string", "127"),
        ({"providers": {"inference": "vllm"}}, "providers.inference", "valid list", "'vllm'"),
        ({"providers": {"inferense": []}}, "providers.inferense", "'inference'", "'inferense'"),
    ],
)
def test_wrong_value_names_path_message_and_the_value_given(
    section: dict, path: str, message: str, got: str
) -> None:
    problem = the_problem({"version": 2, **section})
    assert problem.startswith(f"{path}: ")
    assert message in problem
    assert f"(got {got})" in problem


def test_model_type_must_be_known() -> None:
    problem = the_problem(
        config_with(models=[{"model_id": "m", "provider_id": "vllm", "model_type": "chat"}])
    )
    assert problem.startswith("registered_resources.models[0].model_type: ") and "'chat'" in problem


def test_every_validation_problem_is_reported_at_once() -> None:
    found = problems({"version": 2, "server": {"port": "abc", "workers": 0, "extra": 1}})
    assert sorted(p.split(":")[0] for p in found) == ["server.extra", "server.port", "server.workers"]


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({}, "version: required but missing"),
        ({"version": 1}, "version: Input should be 2 (got 1)"),
        ({"version": 3}, "version: Input should be 2 (got 3)"),
    ],
)
def test_version_must_be_2(tree: dict, expected: str) -> None:
    assert the_problem(tree) == expected


@pytest.mark.parametrize(
    "provider_type", ["vllm", "remote:vllm", "Remote::vllm", "remote::VLLM", "cloud::x", "remote::"]
)
def test_provider_type_must_be_remote_or_inline_namespaced(provider_type: str) -> None:
    problem = the_problem(config_with([provider(provider_type=provider_type)]))
    assert problem.startswith("providers.inference[0].provider_type: String should match pattern")
    assert f"(got {provider_type!r})" in problem


@pytest.mark.parametrize("provider_id", ["-vllm", "has space", "a/b", ""])
def test_provider_id_must_be_a_plain_name(provider_id: str) -> None:
    # `/` would break `provider_id/model_name` model identifiers.
    problem = the_problem(config_with([provider(provider_id=provider_id)]))
    assert problem.startswith("providers.inference[0].provider_id: ")


@pytest.mark.parametrize("missing", ["provider_id", "provider_type"])
def test_provider_entry_requires_id_and_type(missing: str) -> None:
    entry = provider()
    del entry[missing]
    assert the_problem(config_with([entry])) == f"providers.inference[0].{missing}: required but missing"


def test_provider_config_null_or_omitted_is_an_empty_mapping() -> None:
    config = parse_run_config(config_with([provider("a", config=None), provider("b")]), {})
    assert [p.config for p in config.providers[Api.inference]] == [{}, {}]


# --- cross references ------------------------------------------------------------------------


def test_duplicate_provider_id_names_both_places() -> None:
    problem = the_problem(config_with([provider("x"), provider("x", "remote::ollama")]))
    assert (
        problem
        == "providers.inference[1].provider_id: provider_id 'x' is already used at providers.inference[0].provider_id"
    )


def test_duplicate_provider_id_across_apis_is_an_error() -> None:
    tree = config_with([provider("x")])
    tree["providers"]["vector_io"] = [provider("x", "inline::faiss")]
    problem = the_problem(tree)
    assert problem.startswith(
        "providers.vector_io[0].provider_id: provider_id 'x' is already used at providers.inference[0]"
    )


def test_disabled_providers_may_share_an_empty_id() -> None:
    tree = config_with([provider("${env.A:+a}"), provider("${env.B:+b}", "remote::ollama")])
    assert parse_run_config(tree, {}).enabled_providers() == []


def test_model_with_unknown_provider_lists_the_inference_providers() -> None:
    tree = config_with(
        [provider("vllm"), provider("ollama", "remote::ollama")],
        models=[{"model_id": "m", "provider_id": "vlm"}],
    )
    assert the_problem(tree) == (
        "registered_resources.models[0].provider_id: no inference provider 'vlm' (inference providers: ollama, vllm)"
    )


def test_model_pointing_at_a_non_inference_provider_is_an_error() -> None:
    tree = {
        "version": 2,
        "providers": {"vector_io": [provider("faiss", "inline::faiss")]},
        "registered_resources": {"models": [{"model_id": "m", "provider_id": "faiss"}]},
    }
    assert the_problem(tree).endswith("no inference provider 'faiss' (inference providers: none)")


@pytest.mark.parametrize(
    "models",
    [
        [{"model_id": "m", "provider_id": "vllm"}, {"model_id": "m", "provider_id": "vllm"}],
        [
            {"model_id": "m", "provider_id": "vllm"},
            {"model_id": "n", "provider_id": "vllm", "aliases": ["m"]},
        ],
        [
            {"model_id": "a", "provider_id": "vllm", "aliases": ["x"]},
            {"model_id": "b", "provider_id": "vllm", "aliases": ["x"]},
        ],
    ],
    ids=["same-id", "alias-shadows-id", "same-alias"],
)
def test_duplicate_model_id_or_alias_is_an_error(models: list[dict]) -> None:
    problem = the_problem(config_with(models=models))
    assert problem.startswith("registered_resources.models[1]: model id or alias ")
    assert "is already used at registered_resources.models[0]" in problem


def test_one_model_id_can_be_served_by_whichever_provider_is_enabled() -> None:
    # The usual way to pick a backend by environment: only one entry survives, so no clash.
    tree = config_with(
        [provider("${env.VLLM_URL:+vllm}"), provider("${env.OLLAMA_URL:+ollama}", "remote::ollama")],
        models=[
            {"model_id": "llama", "provider_id": "${env.VLLM_URL:+vllm}"},
            {"model_id": "llama", "provider_id": "${env.OLLAMA_URL:+ollama}"},
        ],
    )
    config = parse_run_config(tree, {"OLLAMA_URL": "http://localhost:11434"})
    assert [(m.model_id, m.provider_id) for m in config.registered_resources.models] == [("llama", "ollama")]


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"embedding_dimension": 0},
        {"embedding_dimension": -1},
        {"embedding_dimension": "384"},
        {"embedding_dimension": True},
        {"embedding_dimension": 3.5},
    ],
)
def test_embedding_model_needs_a_positive_integer_dimension(metadata: dict) -> None:
    model = {"model_id": "e", "provider_id": "vllm", "model_type": "embedding", "metadata": metadata}
    problem = the_problem(config_with(models=[model]))
    assert problem.startswith("registered_resources.models[0]")
    assert "metadata.embedding_dimension, a positive integer" in problem


def test_embedding_model_with_a_dimension_is_accepted() -> None:
    model = {
        "model_id": "e",
        "provider_id": "vllm",
        "model_type": "embedding",
        "metadata": {"embedding_dimension": 384},
    }
    [loaded] = parse_run_config(config_with(models=[model]), {}).registered_resources.models
    assert loaded.metadata == {"embedding_dimension": 384}


# --- files -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "list"), ("just a string\n", "str"), ("42\n", "int"), ("", "NoneType")]
)
def test_yaml_that_is_not_a_mapping_is_an_error(tmp_path: Path, text: str, kind: str) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_run_config(path, environ={})
    assert info.value.problems == [f"<root>: expected a mapping, got {kind}"]
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("make", "reason"), [(lambda p: None, "No such file or directory"), (Path.mkdir, "Is a directory")]
)
def test_unreadable_file_is_an_error_naming_it(tmp_path: Path, make, reason: str) -> None:
    path = tmp_path / "run.yaml"
    make(path)
    with pytest.raises(ConfigError) as info:
        load_run_config(path, environ={})
    assert info.value.problems == [f"cannot read {path}: {reason}"]


def test_invalid_yaml_is_an_error_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("version: 2\nproviders: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_run_config(path, environ={})
    [problem] = info.value.problems
    assert problem.startswith("not valid YAML: ") and "line 3" in problem
    assert info.value.source == str(path)


def test_validation_errors_from_a_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("version: 2\nserver:\n  port: abc\n")
    with pytest.raises(ConfigError) as info:
        load_run_config(path, environ={})
    assert f"invalid run config in {path}:\n  - server.port: " in str(info.value)


@pytest.mark.parametrize(
    ("text", "name"), [("version: 2\n", "my-setup"), ("version: 2\nname: prod\n", "prod")]
)
def test_name_defaults_to_the_file_stem(tmp_path: Path, text: str, name: str) -> None:
    path = tmp_path / "my-setup.yaml"
    path.write_text(text)
    assert load_run_config(path, environ={}).name == name


# --- provider entries validated by their plugin (resolver) -----------------------------------

FAKE_MODULE = "ogx_test_fake_provider"


class FakeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str
    timeout: float = 30.0


class DirConfig(BaseModel):
    """A provider config that defaults a directory per run config, as `inline::faiss` does."""

    storage_dir: Path | None = None

    @model_validator(mode="after")
    def _default_dir(self, info: ValidationInfo) -> DirConfig:
        if self.storage_dir is None and (run_dir := run_data_dir_from(info)) is not None:
            self.storage_dir = run_dir / "things"
        return self


class FakeProvider:
    def __init__(self, config: FakeConfig) -> None:
        self.config = config

    async def start(self) -> None: ...

    async def close(self) -> None: ...


def spec(provider_type: str = "remote::fake", api: Api = Api.inference, **overrides: object) -> ProviderSpec:
    fields = {
        "api": api,
        "provider_type": provider_type,
        "config_class": f"{FAKE_MODULE}:FakeConfig",
        "factory": f"{FAKE_MODULE}:create",
        **overrides,
    }
    return ProviderSpec(**fields)


def specs_plugin(*specs: ProviderSpec) -> types.SimpleNamespace:
    return types.SimpleNamespace(ogx_provider_specs=hookimpl(lambda: list(specs)))


FAKE_INFO = PluginInfo(name="fake", distribution="ogx-fake", version="1.0")


def manager(*specs: ProviderSpec, extra: tuple = ()) -> PluginManager:
    return PluginManager(
        load_entry_points=False, plugins=[(FAKE_INFO, specs_plugin(*specs)), *extra], environ={}
    )


@pytest.fixture(autouse=True)
def fake_provider_module(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType(FAKE_MODULE)
    module.FakeConfig = FakeConfig  # type: ignore[attr-defined]
    module.DirConfig = DirConfig  # type: ignore[attr-defined]
    module.create = lambda config, deps: FakeProvider(config)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, FAKE_MODULE, module)


def resolver_problems(run_config: dict, plugins: PluginManager) -> list[str]:
    config = parse_run_config(run_config, {})
    with pytest.raises(ConfigError) as info:
        prepare_providers(config, plugins)
    return info.value.problems


def fake_run_config(**config: object) -> dict:
    return {"version": 2, "providers": {"inference": [provider("f", "remote::fake", config=config)]}}


def test_valid_provider_entry_is_prepared_with_its_config_class() -> None:
    [prepared] = prepare_providers(
        parse_run_config(fake_run_config(base_url="http://x"), {}), manager(spec())
    )
    assert (prepared.api, prepared.provider_id, prepared.path) == (
        Api.inference,
        "f",
        "providers.inference[0]",
    )
    assert prepared.config == FakeConfig(base_url="http://x", timeout=30.0)
    assert prepared.loaded.plugin == FAKE_INFO


@pytest.mark.parametrize(("name", "folder"), [("alpha", "alpha"), ("beta", "beta"), (None, "default")])
def test_provider_configs_default_their_directories_per_run_config(
    tmp_path: Path, name: str | None, folder: str
) -> None:
    tree = {"version": 2, "providers": {"inference": [provider("d", "remote::fake", config={})]}}
    if name is not None:
        tree["name"] = name
    plugins = manager(spec(config_class=f"{FAKE_MODULE}:DirConfig"))
    [prepared] = prepare_providers(
        parse_run_config(tree, {}), plugins, environ={"OGX_DATA_DIR": str(tmp_path)}
    )
    assert prepared.config.storage_dir == tmp_path / folder / "things"


def test_an_explicit_provider_directory_is_kept(tmp_path: Path) -> None:
    config = {"storage_dir": str(tmp_path / "mine")}
    tree = {
        "version": 2,
        "name": "alpha",
        "providers": {"inference": [provider("d", "remote::fake", config=config)]},
    }
    plugins = manager(spec(config_class=f"{FAKE_MODULE}:DirConfig"))
    [prepared] = prepare_providers(
        parse_run_config(tree, {}), plugins, environ={"OGX_DATA_DIR": str(tmp_path)}
    )
    assert prepared.config.storage_dir == tmp_path / "mine"


def test_disabled_provider_entry_is_not_prepared() -> None:
    tree = {"version": 2, "providers": {"inference": [provider("${env.F:+f}", "remote::nope")]}}
    assert prepare_providers(parse_run_config(tree, {}), manager(spec())) == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, "providers.inference[0].config.base_url: required but missing"),
        ({"base_url": "u", "timeout": "slow"}, "providers.inference[0].config.timeout: "),
        ({"base_url": "u", "tiemout": 1}, "providers.inference[0].config.tiemout: unknown key"),
    ],
)
def test_provider_config_is_validated_by_the_plugins_config_class(config: dict, expected: str) -> None:
    [problem] = resolver_problems(fake_run_config(**config), manager(spec()))
    assert problem.startswith(expected)


def test_provider_config_error_shows_the_value_given() -> None:
    [problem] = resolver_problems(fake_run_config(base_url="u", timeout="slow"), manager(spec()))
    assert "(got 'slow')" in problem


def test_unknown_provider_type_lists_installed_types_and_suggests_a_package() -> None:
    tree = {"version": 2, "providers": {"inference": [provider("o", "remote::ollama")]}}
    [problem] = resolver_problems(tree, manager(spec(), spec("inline::other")))
    assert problem == (
        "providers.inference[0].provider_type: no installed plugin provides 'remote::ollama' "
        "(installed provider types: inline::builtin, inline::localfs, inline::other, remote::fake); is ogx-ollama installed?"
    )


def test_unknown_provider_type_names_plugins_that_failed_to_load() -> None:
    def broken() -> list[ProviderSpec]:
        raise RuntimeError("boom")

    broken_plugin = (
        PluginInfo("broken", "ogx-broken", "2.0"),
        types.SimpleNamespace(ogx_provider_specs=hookimpl(broken)),
    )
    tree = {"version": 2, "providers": {"inference": [provider("o", "remote::ollama")]}}
    [problem] = resolver_problems(tree, manager(spec(), extra=(broken_plugin,)))
    assert "(installed provider types: inline::builtin, inline::localfs, remote::fake)" in problem
    assert (
        "plugins that failed to load: broken (ogx-broken 2.0): ogx_provider_specs() failed: RuntimeError: boom"
        in problem
    )


def test_provider_type_of_another_api_is_an_error() -> None:
    tree = {
        "version": 2,
        "providers": {"vector_io": [provider("f", "remote::fake", config={"base_url": "u"})]},
    }
    [problem] = resolver_problems(tree, manager(spec()))
    assert (
        problem
        == "providers.vector_io[0].provider_type: 'remote::fake' implements the inference API, not vector_io"
    )


def test_missing_config_class_module_names_module_and_distribution() -> None:
    plugins = manager(spec(config_class="ogx_no_such_module_xyz.config:Config"))
    [problem] = resolver_problems(fake_run_config(base_url="u"), plugins)
    assert problem.startswith(
        "providers.inference[0].provider_type: provider remote::fake (from fake (ogx-fake 1.0))"
    )
    assert "'ogx_no_such_module_xyz'" in problem
    assert "install ogx-fake" in problem


def test_missing_config_class_attribute_is_an_error() -> None:
    [problem] = resolver_problems(
        fake_run_config(base_url="u"), manager(spec(config_class=f"{FAKE_MODULE}.Nope"))
    )
    assert f"{FAKE_MODULE!r} has no attribute 'Nope'" in problem


def test_missing_api_dependency_is_an_error() -> None:
    plugins = manager(spec(api_dependencies=(Api.files,)))
    [problem] = resolver_problems(fake_run_config(base_url="u"), plugins)
    assert problem == "providers.inference[0]: remote::fake needs a files provider, and none is configured"


def test_problems_of_several_entries_are_reported_together() -> None:
    tree = {
        "version": 2,
        "providers": {
            "inference": [
                provider("a", "remote::fake", config={}),
                provider("b", "remote::nope"),
                provider("c", "remote::fake", config={"base_url": "u", "x": 1}),
            ]
        },
    }
    found = resolver_problems(tree, manager(spec()))
    assert [p.split(":")[0] for p in found] == [
        "providers.inference[0].config.base_url",
        "providers.inference[1].provider_type",
        "providers.inference[2].config.x",
    ]


async def start(plugins: PluginManager) -> None:
    prepared = prepare_providers(parse_run_config(fake_run_config(base_url="u"), {}), plugins)
    async with AsyncExitStack() as stack:
        await start_providers(prepared, stack, lambda api, instances: instances)


async def test_factory_module_that_does_not_exist_names_module_and_distribution() -> None:
    plugins = manager(spec(factory="ogx_no_such_module_xyz.adapter:create"))
    with pytest.raises(ConfigError) as info:
        await start(plugins)
    [problem] = info.value.problems
    assert problem.startswith("providers.inference[0].provider_type: "), (
        "found by validation (and `ogx config check`), before start-up"
    )
    assert "cannot import 'ogx_no_such_module_xyz.adapter'" in problem
    assert "module 'ogx_no_such_module_xyz' is missing" in problem
    assert "install ogx-fake" in problem


async def test_factory_whose_sdk_is_missing_names_the_missing_sdk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ogx_test_adapter_needing_sdk.py").write_text(
        textwrap.dedent(
            """
            import ogx_test_sdk_that_is_not_installed

            def create(config, deps):
                raise AssertionError("unreachable")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ogx_test_adapter_needing_sdk", raising=False)
    plugins = manager(spec(factory="ogx_test_adapter_needing_sdk:create"))
    with pytest.raises(ConfigError) as info:
        await start(plugins)
    [problem] = info.value.problems
    assert problem.startswith("providers.inference[0].provider_type: ")
    assert "cannot import 'ogx_test_adapter_needing_sdk'" in problem
    assert "module 'ogx_test_sdk_that_is_not_installed' is missing" in problem
    assert "install ogx-fake" in problem
    monkeypatch.delitem(sys.modules, "ogx_test_adapter_needing_sdk", raising=False)


async def test_existing_factory_builds_and_starts_the_provider() -> None:
    prepared = prepare_providers(parse_run_config(fake_run_config(base_url="u"), {}), manager(spec()))
    async with AsyncExitStack() as stack:
        instances, routers = await start_providers(prepared, stack, lambda api, instances: instances)
    [instance] = instances
    assert isinstance(instance.impl, FakeProvider) and instance.impl.config.base_url == "u"
    assert routers[Api.inference] == instances
