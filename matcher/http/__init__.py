"""The HTTP layer: a thin FastAPI adapter over the framework-neutral `matcher.service` core.

    app.py          create_app(): lifespan, state, routers, middleware, error handlers
    state.py        the current Matcher and its atomic, serialised reload
    triggers.py     what starts a reload besides the admin route: SIGHUP, a file watch
    deps.py         request dependencies: the current Matcher, the raw body
    auth.py         client API keys (X-API-Key) and the admin bearer token
    errors.py       one handler set, one canonical error body
    middleware.py   body size limit; request id, timing, access log and request metrics
    access.py       what a route tells the access log (never a child's details)
    logs.py         JSON log lines and the uvicorn log config
    metrics.py      Prometheus metrics on a per-app registry
    openapi.py      request bodies documented from the request models, with examples
    examples.py     example request bodies (working against the embedded registry)
    schemas.py      response models of the non-matching endpoints
    catalogue.py    GET /v1/catalogue: the vocabularies a client builds its forms from
    routes_*.py     the endpoints, grouped by concern
    server.py       `matcher serve`: uvicorn, workers, SIGHUP forwarding

Nothing here is imported by the core; `import matcher.service` never loads FastAPI.
"""
