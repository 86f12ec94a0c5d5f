"""The Docker-free local stack: moto, the API, the stream poller and the outbox in one process.

Everything is read from template.yaml (routes, throttling, binary media types, the stream's event
source mapping, the functions' environment), and the real handlers are called in-process, so the
local stack cannot drift from what is deployed. Start it with ``python -m infra.local``.
"""
