"""Anthropic-defined tools that the client runs (bash, the text editors, memory), as the function
tools a chat model is offered in their place. Anthropic trains its models on these schemas and
documents them; a model behind the translation sees them spelled out, and its calls come back as
ordinary `tool_use` blocks with the tool's fixed name, which the client executes as it would
Claude's."""

from __future__ import annotations

from typing import Any

from ogx.anthropic import models as m

_PATH = {"type": "string", "description": "Absolute path of the file or directory."}

_BASH = {
    "description": "Run a command in a persistent bash shell and return its output.",
    "parameters": {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The bash command to run."},
            "restart": {"type": "boolean", "description": "Restart the shell instead of running a command."},
        },
    },
}

_EDITOR_COMMANDS = ["view", "create", "str_replace", "insert"]

_EDITOR_PROPERTIES: dict[str, Any] = {
    "path": _PATH,
    "file_text": {"type": "string", "description": "For `create`: the content of the new file."},
    "old_str": {"type": "string", "description": "For `str_replace`: the exact text to replace."},
    "new_str": {"type": "string", "description": "For `str_replace` and `insert`: the new text."},
    "insert_line": {"type": "integer", "description": "For `insert`: the line after which to insert."},
    "view_range": {
        "type": "array",
        "items": {"type": "integer"},
        "description": "For `view`: [first line, last line] (-1 for the end of the file).",
    },
}

_MEMORY = {
    "description": (
        "Read and write files in the /memories directory, which persists across conversations. "
        "Check it before starting a task; record progress and learnings as you go."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "command": {
                "type": "string",
                "enum": ["view", "create", "str_replace", "insert", "delete", "rename"],
            },
            "path": _PATH,
            "file_text": _EDITOR_PROPERTIES["file_text"],
            "old_str": _EDITOR_PROPERTIES["old_str"],
            "new_str": _EDITOR_PROPERTIES["new_str"],
            "insert_line": _EDITOR_PROPERTIES["insert_line"],
            "insert_text": {"type": "string", "description": "For `insert`: the text to insert."},
            "view_range": _EDITOR_PROPERTIES["view_range"],
            "old_path": {"type": "string", "description": "For `rename`: the current path."},
            "new_path": {"type": "string", "description": "For `rename`: the new path."},
        },
        "required": ["command"],
    },
}


def _editor(commands: list[str], max_characters: int | None) -> dict[str, Any]:
    description = "View, create and edit text files: `view` a file or directory, `create` a file, "
    description += "`str_replace` an exact unique string, `insert` text after a line"
    description += ", `undo_edit` the last edit." if "undo_edit" in commands else "."
    if max_characters is not None:
        description += f" Viewing shows at most {max_characters} characters."
    return {
        "description": description,
        "parameters": {
            "type": "object",
            "properties": {"command": {"type": "string", "enum": commands}, **_EDITOR_PROPERTIES},
            "required": ["command", "path"],
        },
    }


def client_tool_function(tool: Any) -> dict[str, Any]:
    """The OpenAI `function` for one of `models.CLIENT_TOOLS`."""
    if isinstance(tool, m.BashTool20250124Param):
        spec = _BASH
    elif isinstance(tool, m.MemoryTool20250818Param):
        spec = _MEMORY
    elif isinstance(tool, m.TextEditor20250124Param):
        spec = _editor([*_EDITOR_COMMANDS, "undo_edit"], None)
    elif isinstance(tool, m.TextEditor20250728Param):
        spec = _editor(_EDITOR_COMMANDS, tool.max_characters)
    else:
        spec = _editor(_EDITOR_COMMANDS, None)
    function: dict[str, Any] = {"name": tool.name, **spec}
    if tool.strict is not None:
        function["strict"] = tool.strict
    return function
