"""Plugin discovery: the core's built-in plugin plus every entry point in group `ogx`."""

from ogx.plugins.manager import LoadedSpec, PluginConflict, PluginInfo, PluginManager

__all__ = ["LoadedSpec", "PluginConflict", "PluginInfo", "PluginManager"]
