"""Starting and stopping the HTTP and MCP servers over a workspace's index."""

from __future__ import annotations

import socket
from collections.abc import Callable

from gptchat.errors import BadInput
from gptchat.serve.service import DocumentService, ServedIndex

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
API_KEY_ENV = "GPTCHAT_API_KEY"


def check_binding(host: str, api_key: str | None) -> None:
    """BadInput for a server other machines could reach without a key."""
    if host not in LOCAL_HOSTS and not api_key:
        raise BadInput(
            f"--host {host} lets other machines read your documents: give --api-key KEY"
            f" (or set {API_KEY_ENV}), which every request must then carry"
        )


def check_port(host: str, port: int) -> None:
    """BadInput if `port` cannot be listened on at `host` (another server has it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise BadInput(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def serve_http(
    served: ServedIndex,
    host: str,
    port: int,
    api_key: str | None,
    report: Callable[[str], None],
) -> None:
    """Run the OpenAI-compatible API until interrupted (Ctrl-C)."""
    import uvicorn

    from gptchat.serve.api import create_app

    check_binding(host, api_key)
    check_port(host, port)  # before the model loads, not after
    service = DocumentService(served, report)
    try:
        shown = f"[{host}]" if ":" in host else host
        report(
            f"Serving index '{served.index_name}' with {service.model_name} at"
            f" http://{shown}:{port}/v1{' (API key required)' if api_key else ''};"
            " Ctrl-C stops."
        )
        # No lifespan events: nothing to start per app, and a Ctrl-C then stops it quietly.
        config = uvicorn.Config(
            create_app(service, api_key), host=host, port=port, log_level="warning", lifespan="off"
        )
        try:
            uvicorn.Server(config).run()
        except KeyboardInterrupt:  # uvicorn stops gracefully, then passes the Ctrl-C on
            report("Stopped; every answer given is logged.")
    finally:
        service.close()


def serve_mcp(served: ServedIndex, report: Callable[[str], None]) -> None:
    """Run the MCP server on stdin and stdout until the client closes it."""
    from gptchat.serve.mcp_tools import create_mcp_server

    service = DocumentService(served, report)
    try:
        create_mcp_server(service).run("stdio")
    finally:
        service.close()
