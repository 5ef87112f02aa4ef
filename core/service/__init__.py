"""``edubalance serve``: the evaluator as an HTTP/JSON service with an OpenAPI 3.1 contract.

One job per module:

    settings.py  the service's configuration and limits
    problems.py  RFC 9457 problem documents (every error the service answers)
    auth.py      optional bearer tokens read from a file, compared in constant time
    limits.py    the request-body size limit, enforced while the body streams in
    slashes.py   a path with a trailing slash answered as without it (no redirect)
    local.py     a service process on loopback, for the tests and the benchmark
    uploads.py   reading a request: a JSON body, or uploaded files under their own names
    jobs.py      what an evaluation process does (one Evaluator per configuration, reused)
    pool.py      the evaluation processes: one request each at a time, a time limit that kills
    contract.py  the OpenAPI components taken from the JSON Schemas in ``schemas/``
    log.py       one JSON access/decision line per request (no school data)
    app.py       the FastAPI application: routes, headers, error handlers
    server.py    starting uvicorn (and refusing an unsafe binding)

The web framework is imported only here, never by ``import edubalance``.
"""
