"""One replica of a service under uvicorn, serving the service's port through a listening socket the supervisor
opened and shares among the replicas (the kernel hands each connection to one of them), and its own port, so
its health and metrics can be read replica by replica.

`python -m cli.replica services.claims.app:app --shared-fd 3 --port 8102`; kept free of the project's imports
(uvicorn loads the app), so a replica starts as fast as plain uvicorn.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn


def own_socket(host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.set_inheritable(False)
    return listener


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cli.replica", description=__doc__)
    parser.add_argument("app", help="The ASGI app, e.g. services.claims.app:app.")
    parser.add_argument("--shared-fd", type=int, required=True, help="The service port's listening socket.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="This replica's own port.")
    parser.add_argument("--factory", action="store_true", help="`app` is a factory to call.")
    options = parser.parse_args(argv)
    shared = socket.socket(fileno=options.shared_fd)
    config = uvicorn.Config(options.app, factory=options.factory, access_log=False, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[shared, own_socket(options.host, options.port)])


if __name__ == "__main__":
    main()
