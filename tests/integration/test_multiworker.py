"""Several workers: every read answered correctly by whichever worker the client reaches.

Each worker listens on its own port here so the test can address each one; in `gamevault up` they
share one port (SO_REUSEPORT).
"""

import concurrent.futures as cf
import uuid

import httpx
import pytest

from gamevault.broker.local import free_port
from tests.integration.support import wait_for
from tests.support.api import Api


def start(stack, n):
    ports = [free_port() for _ in range(n)]
    workers = [stack.start_worker(port=p, wait=False) for p in ports]
    for worker, port in zip(workers, ports, strict=True):
        stack.wait_ready(worker, port=port, timeout=120)
    return ports, workers


def settled(ports):
    """Every worker ready (the group has finished rebalancing)."""
    return all(httpx.get(f"http://127.0.0.1:{p}/readyz", timeout=2).status_code == 200 for p in ports)


@pytest.mark.parametrize("workers", [2, 3])
def test_reads_and_searches_through_any_worker(isolated, workers):
    stack = isolated()
    ports, procs = start(stack, workers)
    wait_for(lambda: settled(ports), timeout=60)
    apis = [Api(f"http://127.0.0.1:{p}") for p in ports]
    tag = uuid.uuid4().hex[:8]
    seller = apis[0].register("seller")
    made = []
    for n in range(24):  # spread over all 8 partitions, written through every worker in turn
        made.append(apis[n % workers].product(seller, title=f"Multi {tag} {n}")["id"])
    for api in apis:
        for pid in made:  # read-after-write on another worker: a miss catches up first
            r = api.http.get(f"/products/{pid}")
            assert r.status_code == 200, (api.http.base_url, pid, r.text)
        found = api.http.get("/products", params={"q": f"multi {tag}", "limit": 100}).json()["items"]
        assert {p["id"] for p in found} == set(made)
        assert api.http.get(f"/users/{seller.id}").status_code == 200

    # two registrations of one email racing on two workers: exactly one account
    email = f"race-{uuid.uuid4().hex[:8]}@gamevault.test"
    body = {"email": email, "password": "password-123", "display_name": "Racer", "role": "buyer"}
    with cf.ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda api: api.http.post("/users", json=body).status_code, apis * 2))
    assert statuses.count(201) == 1 and statuses.count(409) == len(statuses) - 1, statuses

    # one worker stopped for good: the others take over its partitions and keep answering
    procs[0].stop()
    survivors = apis[1:]
    wait_for(lambda: settled(ports[1:]), timeout=60)
    for api in survivors:
        for pid in made:
            assert api.http.get(f"/products/{pid}").status_code == 200
    token = survivors[0].login(seller.email, seller.password)
    changed = survivors[0].http.patch(f"/products/{made[0]}", json={"stock": 1},
                                      headers={"Authorization": f"Bearer {token}"})
    assert changed.status_code == 200, changed.text  # writes for the stopped worker's partitions still work
    wait_for(lambda: all(a.http.get(f"/products/{made[0]}").json()["stock"] == 1 for a in survivors), timeout=10)
    for api in apis:
        api.close()
