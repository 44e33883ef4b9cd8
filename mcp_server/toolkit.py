"""How a tool is registered: typed inputs, a typed output model, truthful annotations, errors for agents.

A tool is written as ``async def name(state: AppState, <typed params>) -> <OutputModel>``.
:func:`add_tool` registers it on the ``MCPServer`` with:

* the input schema from its parameters (``Annotated[..., Field(description=...)]`` carry units);
* the output schema from its return model, and every result validated against it;
* the text content as compact JSON (what most clients put in a model's context) beside the
  structured content;
* :class:`mcp.types.ToolAnnotations` given explicitly (:data:`READ`, :data:`READ_LOCAL`, ...);
* errors as tool errors with one sentence of what to do instead (:func:`mcp_server.errors.tool_error_for`);
* for write tools, the kill switch checked before anything else.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from mcp_server.audit import note
from mcp_server.errors import ToolError, tool_error_for
from mcp_server.killswitch import kill_switch_engaged, kill_switch_message
from mcp_server.state import AppState

__all__ = ["LOCAL_FILES", "READ", "READ_LOCAL", "add_tool", "current_agent", "tool_result"]

#: The calling agent's id (its MCP client name, sanitised) during a tool call: intents' origin ``agent:<id>``.
current_agent: ContextVar[str] = ContextVar("mcp_current_agent", default="mcp-client")
_AGENT_UNSAFE = re.compile(r"[^A-Za-z0-9_.@/-]+")

M = TypeVar("M", bound=BaseModel)

#: Reads the venue: changes nothing, same answer for the same state, talks to an outside system.
READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
#: Reads only this server and its ledger.
READ_LOCAL = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
#: Trades nothing and talks to no outside system, but writes new files of its own (a backtest's run directory).
LOCAL_FILES = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)


def tool_result(model: BaseModel) -> CallToolResult:
    """``model`` as structured content plus the same JSON, compact, as text."""
    data = model.model_dump(mode="json")
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def _agent_of(ctx: Context[Any]) -> str:
    try:
        params = ctx.session.client_params
        name = params.client_info.name if params is not None else ""
    except Exception:  # no session details on this transport: a generic id
        name = ""
    cleaned = _AGENT_UNSAFE.sub("-", str(name or "")).strip("-")[:48]
    return cleaned or "mcp-client"


def add_tool(
    server: MCPServer[Any],
    fn: Callable[..., Awaitable[M]],
    *,
    title: str,
    annotations: ToolAnnotations,
    write: bool = False,
) -> None:
    """Register ``fn`` (see the module doc) on ``server`` under ``fn.__name__``.

    Args:
        title: a short human title.
        annotations: the tool's truthful hints.
        write: a write tool: refused while the kill switch is engaged.
    """
    name = fn.__name__
    # tool modules import AppState for type checking only; give it to the evaluation of their annotations
    signature = inspect.signature(fn, eval_str=True, globals={**fn.__globals__, "AppState": AppState})
    output = signature.return_annotation
    if not (isinstance(output, type) and issubclass(output, BaseModel)):
        raise TypeError(f"tool {name} must be annotated to return a pydantic model, not {output!r}")
    params = list(signature.parameters.values())
    if not params or params[0].name != "state":
        raise TypeError(f"tool {name}'s first parameter must be 'state: AppState'")

    async def call(ctx: Context[AppState], **arguments: Any) -> CallToolResult:
        state: AppState = ctx.request_context.lifespan_context
        if write and kill_switch_engaged(state.settings.kill_switch_file):
            note(outcome="refused", reason="kill_switch")
            raise ToolError(kill_switch_message(state.settings.kill_switch_file))
        agent = current_agent.set(_agent_of(ctx))
        try:
            result = await fn(state, **arguments)
        except ToolError:
            raise
        except Exception as exc:
            raise tool_error_for(exc, name) from exc
        finally:
            current_agent.reset(agent)
        return tool_result(result)

    context_param = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)
    tool_params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params[1:]]
    returns = Annotated[CallToolResult, output]
    call.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*tool_params, context_param], return_annotation=returns
    )
    call.__annotations__ = {p.name: p.annotation for p in tool_params} | {"ctx": Context, "return": returns}
    call.__name__ = call.__qualname__ = name
    call.__doc__ = inspect.getdoc(fn)
    server.add_tool(call, name=name, title=title, annotations=annotations, structured_output=True)
