"""/healthz, /readyz, /metrics, OpenAPI, and problem+json for every error."""

import httpx


def test_health_ready_metrics(stack):
    with httpx.Client(base_url=stack.url) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        ready = http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"kafka": True, "tables_recovered": True, "read_models": True,
                                          "replies": True}
        http.get("/api/v1/products")
        metrics = http.get("/metrics")
        assert metrics.status_code == 200
        assert 'gamevault_http_requests_total{method="GET",route="/api/v1/products",status="200"}' in metrics.text


def test_openapi_and_docs(stack):
    with httpx.Client(base_url=stack.url) as http:
        spec = http.get("/openapi.json").json()
        for path in ("/api/v1/users", "/api/v1/auth/token", "/api/v1/products/{product_id}/page", "/readyz"):
            assert path in spec["paths"]
        assert http.get("/docs").status_code == 200


def test_unknown_route_is_a_problem(stack):
    with httpx.Client(base_url=stack.url) as http:
        r = http.get("/api/v1/nothing-here")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == 404


def test_request_id_and_traceparent_are_echoed(stack):
    with httpx.Client(base_url=stack.url) as http:
        trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        r = http.get("/healthz", headers={"X-Request-ID": "req-123", "traceparent": trace})
        assert r.headers["x-request-id"] == "req-123"
        assert r.headers["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
        generated = http.get("/healthz").headers["x-request-id"]
        assert len(generated) == 32


def test_oversized_body_is_refused(stack):
    with httpx.Client(base_url=stack.url) as http:
        r = http.post("/api/v1/users", content=b"x" * (2 * 1024 * 1024), headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert r.headers["content-type"] == "application/problem+json"
