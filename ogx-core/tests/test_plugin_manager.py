"""The plugin manager: built-in plugin, provider specs with their origin, conflicts, and broken
plugins that are recorded and skipped (or fatal with OGX_STRICT_PLUGINS)."""

from __future__ import annotations

import sys
import textwrap
import types
from importlib.metadata import EntryPoint, PackageNotFoundError, distribution
from pathlib import Path

import pytest

from ogx.plugins import PluginConflict, PluginInfo, PluginManager
from ogx.plugins.manager import BUILTIN
from ogx_api import Api, Distribution, ProviderSpec, hookimpl


def spec(provider_type: str, api: Api = Api.inference) -> ProviderSpec:
    name = provider_type.split("::")[1].replace("-", "_")
    return ProviderSpec(
        api=api,
        provider_type=provider_type,
        config_class=f"ogx_{name}.config:Config",
        factory=f"ogx_{name}.adapter:create",
    )


def specs_plugin(*specs: object) -> types.SimpleNamespace:
    return types.SimpleNamespace(ogx_provider_specs=hookimpl(lambda: list(specs)))


def info(name: str, distribution: str | None = None) -> PluginInfo:
    return PluginInfo(name=name, distribution=distribution or f"ogx-{name}", version="1.0")


def build(*plugins: tuple[PluginInfo, object], **environ: str) -> PluginManager:
    return PluginManager(load_entry_points=False, plugins=list(plugins), environ=environ)


def declared(manager: PluginManager) -> dict:
    """The provider specs that plugins other than the built-in one declared."""
    return {t: s for t, s in manager.provider_specs.items() if s.plugin != BUILTIN}


def raising(exc: Exception):
    def hook() -> list:
        raise exc

    return hookimpl(hook)


# --- built-in plugin and collection ----------------------------------------------------------


def test_builtin_plugin_is_always_registered_first() -> None:
    manager = build()
    assert manager.plugins == [BUILTIN]
    assert manager.failures == []
    assert {t: s.plugin for t, s in manager.provider_specs.items()} == {
        "inline::localfs": BUILTIN,
        "inline::builtin": BUILTIN,
    }


def test_builtin_plugin_ships_the_starter_distribution() -> None:
    distribution, origin = build().distributions["starter"]
    assert origin == BUILTIN and origin.distribution == "ogx"
    assert distribution.run_config["version"] == 2


def test_provider_specs_are_collected_with_the_plugin_they_come_from() -> None:
    vllm, faiss = spec("remote::vllm"), spec("inline::faiss", Api.vector_io)
    manager = build((info("vllm"), specs_plugin(vllm)), (info("faiss"), specs_plugin(faiss)))
    assert {t: (s.spec, s.plugin) for t, s in declared(manager).items()} == {
        "remote::vllm": (vllm, info("vllm")),
        "inline::faiss": (faiss, info("faiss")),
    }
    assert manager.plugins == [BUILTIN, info("vllm"), info("faiss")]


def test_plugin_may_be_a_module_or_an_object_with_hook_methods() -> None:
    module = types.ModuleType("ogx_test_module_plugin")
    module.ogx_provider_specs = hookimpl(lambda: [spec("remote::a")])  # type: ignore[attr-defined]

    class ObjectPlugin:
        @hookimpl
        def ogx_provider_specs(self) -> list[ProviderSpec]:
            return [spec("remote::b")]

    manager = build((info("a"), module), (info("b"), ObjectPlugin()))
    assert sorted(declared(manager)) == ["remote::a", "remote::b"]


def test_distributions_from_plugins_are_collected() -> None:
    acme = Distribution(name="acme-npu", run_config={"version": 2})
    plugin = types.SimpleNamespace(ogx_distributions=hookimpl(lambda: [acme]))
    manager = build((info("acme"), plugin))
    assert manager.distributions["acme-npu"] == (acme, info("acme"))
    assert "starter" in manager.distributions


# --- conflicts -------------------------------------------------------------------------------


def test_duplicate_provider_type_names_both_distributions() -> None:
    with pytest.raises(PluginConflict) as exc:
        build(
            (info("vllm", "ogx-vllm"), specs_plugin(spec("remote::vllm"))),
            (info("fork", "acme-vllm"), specs_plugin(spec("remote::vllm"))),
        )
    message = str(exc.value)
    assert "'remote::vllm'" in message
    assert "ogx-vllm" in message and "acme-vllm" in message
    assert "OGX_DISABLED_PLUGINS" in message


def test_duplicate_distribution_name_names_both_distributions() -> None:
    clash = types.SimpleNamespace(
        ogx_distributions=hookimpl(lambda: [Distribution(name="starter", run_config={})])
    )
    with pytest.raises(PluginConflict) as exc:
        build((info("clash", "acme-distro"), clash))
    assert "'starter'" in str(exc.value)
    assert "ogx" in str(exc.value) and "acme-distro" in str(exc.value)


def test_second_plugin_with_the_same_name_is_a_failure() -> None:
    manager = build(
        (info("p", "ogx-first"), specs_plugin(spec("remote::a"))),
        (info("p", "ogx-second"), specs_plugin(spec("remote::b"))),
    )
    assert list(declared(manager)) == ["remote::a"]
    [failure] = manager.failures
    assert failure.distribution == "ogx-second" and "already registered" in (failure.error or "")


# --- broken plugins --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hook", "error"),
    [
        (raising(RuntimeError("no GPU")), "ogx_provider_specs() failed: RuntimeError: no GPU"),
        (
            raising(ImportError("No module named 'torch'")),
            "ogx_provider_specs() failed: ImportError: No module named 'torch'",
        ),
        (
            hookimpl(lambda: [{"provider_type": "remote::x"}]),
            "ogx_provider_specs returned dict, expected ProviderSpec",
        ),
        (hookimpl(lambda: ["remote::x"]), "ogx_provider_specs returned str, expected ProviderSpec"),
        (hookimpl(lambda: [spec("remote::x"), None]), "returned NoneType, expected ProviderSpec"),
        (hookimpl(lambda: 42), "TypeError"),
    ],
    ids=["raises", "raises-import-error", "dict", "str", "one-bad-record", "not-a-list"],
)
def test_broken_hook_is_recorded_and_other_plugins_still_load(hook, error: str) -> None:
    manager = build(
        (info("bad"), types.SimpleNamespace(ogx_provider_specs=hook)),
        (info("good"), specs_plugin(spec("remote::good"))),
    )
    assert list(declared(manager)) == ["remote::good"]
    [failure] = manager.failures
    assert (failure.name, failure.distribution) == ("bad", "ogx-bad")
    assert error in (failure.error or "")


def test_single_spec_returned_instead_of_a_list_is_a_failure() -> None:
    manager = build(
        (info("bad"), types.SimpleNamespace(ogx_provider_specs=hookimpl(lambda: spec("remote::x"))))
    )
    assert declared(manager) == {}
    [failure] = manager.failures
    assert failure.name == "bad"


def test_broken_distributions_hook_keeps_the_builtin_distributions() -> None:
    bad = types.SimpleNamespace(ogx_distributions=raising(ValueError("bad yaml")))
    manager = build((info("bad"), bad))
    assert list(manager.distributions) == ["starter"]
    [failure] = manager.failures
    assert failure.error == "ogx_distributions() failed: ValueError: bad yaml"


@pytest.mark.parametrize(
    ("hook_name", "hint"),
    [
        ("ogx_provider_spec", "ogx_provider_spec (did you mean ogx_provider_specs?)"),
        ("ogx_distribution", "ogx_distribution (did you mean ogx_distributions?)"),
        ("ogx_something_else_entirely", "ogx_something_else_entirely"),
    ],
)
def test_misspelled_hook_is_a_failure_with_a_hint(hook_name: str, hint: str) -> None:
    plugin = types.SimpleNamespace(**{hook_name: hookimpl(lambda: [spec("remote::typo")])})
    manager = build((info("typo"), plugin), (info("good"), specs_plugin(spec("remote::good"))))
    [failure] = manager.failures
    assert failure.name == "typo"
    assert failure.error == f"implements unknown hooks: {hint}"
    assert info("typo") not in manager.plugins
    assert list(declared(manager)) == ["remote::good"]


def test_hook_with_unexpected_arguments_is_a_failure() -> None:
    plugin = types.SimpleNamespace(ogx_provider_specs=hookimpl(lambda config: []))
    manager = build((info("args"), plugin))
    [failure] = manager.failures
    assert failure.name == "args" and "config" in (failure.error or "")


def test_failure_is_logged_with_the_plugin_and_distribution(caplog: pytest.LogCaptureFixture) -> None:
    build((info("bad", "acme-bad"), types.SimpleNamespace(ogx_provider_specs=raising(RuntimeError("x")))))
    assert any("bad (acme-bad 1.0)" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


# --- OGX_STRICT_PLUGINS ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "broken",
    [
        types.SimpleNamespace(ogx_provider_specs=raising(RuntimeError("boom"))),
        types.SimpleNamespace(ogx_provider_spec=hookimpl(lambda: [])),
    ],
    ids=["raising-hook", "misspelled-hook"],
)
def test_strict_mode_makes_a_plugin_failure_fatal(broken: object) -> None:
    with pytest.raises(RuntimeError) as exc:
        build((info("bad", "acme-bad"), broken), OGX_STRICT_PLUGINS="1")
    assert "bad (acme-bad 1.0)" in str(exc.value) and "OGX_STRICT_PLUGINS" in str(exc.value)


@pytest.mark.parametrize("value", ["1", "true", "True", "yes", "on"])
def test_strict_mode_values_that_turn_it_on(value: str) -> None:
    assert build(OGX_STRICT_PLUGINS=value).strict


@pytest.mark.parametrize("value", ["", "0", "false", "False", "FALSE", "no", "off"])
def test_strict_mode_values_that_leave_it_off(value: str) -> None:
    assert not build(OGX_STRICT_PLUGINS=value).strict


def test_strict_mode_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OGX_STRICT_PLUGINS", "1")
    with pytest.raises(RuntimeError):
        PluginManager(
            load_entry_points=False,
            plugins=[(info("bad"), types.SimpleNamespace(ogx_provider_specs=raising(RuntimeError("x"))))],
        )


# --- entry points ----------------------------------------------------------------------------


def test_entry_point_that_fails_to_import_is_recorded_with_its_value() -> None:
    manager = build()
    manager._load_entry_point(EntryPoint(name="ghost", value="nonexistent_module_xyz:thing", group="ogx"))
    [failure] = manager.failures
    assert failure.name == "ghost"
    assert failure.error == (
        "failed to import nonexistent_module_xyz:thing: ModuleNotFoundError: No module named 'nonexistent_module_xyz'"
    )
    assert [p.name for p in manager.plugins] == ["builtin"]


def test_disabled_entry_point_is_not_even_imported() -> None:
    manager = build(OGX_DISABLED_PLUGINS="other, ghost")
    manager._load_entry_point(EntryPoint(name="ghost", value="nonexistent_module_xyz:thing", group="ogx"))
    assert manager.failures == []
    assert [p.name for p in manager.plugins] == ["builtin"]


def test_entry_point_import_failure_is_fatal_in_strict_mode() -> None:
    manager = build()
    manager.strict = True
    with pytest.raises(RuntimeError, match="nonexistent_module_xyz"):
        manager._load_entry_point(EntryPoint(name="ghost", value="nonexistent_module_xyz:thing", group="ogx"))


def _installed(name: str) -> bool:
    try:
        distribution(name)
    except PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _installed("ogx-vllm"), reason="ogx-vllm is not installed alongside ogx")
def test_installed_entry_points_include_remote_vllm_from_ogx_vllm() -> None:
    manager = PluginManager(environ={})
    loaded = manager.provider_specs["remote::vllm"]
    assert loaded.spec.api is Api.inference
    assert (loaded.plugin.name, loaded.plugin.distribution) == ("vllm", "ogx-vllm")
    assert loaded.plugin.version == distribution("ogx-vllm").version


# Real entry points of a distribution installed into a temporary sys.path entry.


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(dist: str, entry_name: str, module: str, source: str) -> None:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        info_dir = tmp_path / f"{dist.replace('-', '_')}-3.1.dist-info"
        info_dir.mkdir()
        (info_dir / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 3.1\n")
        (info_dir / "entry_points.txt").write_text(f"[ogx]\n{entry_name} = {module}\n")
        monkeypatch.delitem(sys.modules, module, raising=False)

    return install


GOOD_PLUGIN = """
    from ogx_api import Api, ProviderSpec, hookimpl

    @hookimpl
    def ogx_provider_specs():
        return [ProviderSpec(api=Api.inference, provider_type="remote::acme-test",
                             config_class="acme.config:Config", factory="acme.adapter:create")]
"""


def test_installed_plugin_is_discovered_with_its_distribution(install_plugin) -> None:
    install_plugin("ogx-acme-test", "acme", "ogx_acme_test_plugin", GOOD_PLUGIN)
    loaded = PluginManager(environ={}).provider_specs["remote::acme-test"]
    assert loaded.plugin == PluginInfo(name="acme", distribution="ogx-acme-test", version="3.1")


def test_installed_plugin_that_fails_to_import_is_skipped_naming_its_distribution(install_plugin) -> None:
    install_plugin(
        "ogx-broken-test", "broken", "ogx_broken_test_plugin", "import ogx_sdk_that_is_not_installed\n"
    )
    install_plugin("ogx-acme-test", "acme", "ogx_acme_test_plugin", GOOD_PLUGIN)
    manager = PluginManager(environ={})
    [failure] = [f for f in manager.failures if f.name == "broken"]
    assert failure.distribution == "ogx-broken-test" and failure.version == "3.1"
    assert "ogx_sdk_that_is_not_installed" in (failure.error or "")
    assert "remote::acme-test" in manager.provider_specs


@pytest.mark.parametrize("disabled", ["acme", "ogx-acme-test"], ids=["by-entry-point", "by-distribution"])
def test_installed_plugin_can_be_disabled(install_plugin, disabled: str) -> None:
    install_plugin("ogx-acme-test", "acme", "ogx_acme_test_plugin", GOOD_PLUGIN)
    manager = PluginManager(environ={"OGX_DISABLED_PLUGINS": disabled})
    assert "remote::acme-test" not in manager.provider_specs
    assert "ogx_acme_test_plugin" not in sys.modules
    assert all(f.name != "acme" for f in manager.failures)


def test_installed_plugins_declaring_the_same_type_conflict(install_plugin) -> None:
    install_plugin("ogx-acme-test", "acme", "ogx_acme_test_plugin", GOOD_PLUGIN)
    install_plugin("ogx-acme-fork", "acmefork", "ogx_acme_fork_plugin", GOOD_PLUGIN)
    with pytest.raises(PluginConflict) as exc:
        PluginManager(environ={})
    assert "ogx-acme-test 3.1" in str(exc.value) and "ogx-acme-fork 3.1" in str(exc.value)
    PluginManager(environ={"OGX_DISABLED_PLUGINS": "ogx-acme-fork"})  # the advertised way out works
