"""`gamevault produce`: validates each line, reports per line, sends only the valid ones."""

import os
import subprocess
import sys
import uuid

import orjson

from tests.integration.support import read_topic


def test_produce_reports_each_line_and_sends_the_valid(stack, tmp_path):
    pid = f"produce-{uuid.uuid4().hex[:8]}"
    good = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/seller-sync", "time": "2026-11-28T12:00:00Z",
            "type": "gamevault.catalog.stock.set", "data": {"product_id": pid, "seller_id": "s1", "stock": 4}}
    lines = [orjson.dumps(good), b"", b"{not json", orjson.dumps({**good, "type": "gamevault.catalog.nope"})]
    incomplete = {"type": "gamevault.catalog.stock.set", "data": {"product_id": pid, "seller_id": "s1", "stock": 5}}
    path = tmp_path / "records.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    env = {**os.environ, "GAMEVAULT_HOME": str(stack.home), "GAMEVAULT_KAFKA_PORT": str(stack.broker.port)}
    result = subprocess.run([sys.executable, "-m", "gamevault", "produce", "gamevault.catalog.commands",
                             "--file", str(path)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1  # one line was rejected
    assert f"line 1: ok  gamevault.catalog.stock.set  key={pid}  sent -> partition" in result.stdout
    assert "line 3: REJECTED  not_json" in result.stdout
    assert "line 4: REJECTED  unknown_type" in result.stdout
    assert "1 sent, 2 rejected" in result.stderr

    completed = subprocess.run([sys.executable, "-m", "gamevault", "produce", "gamevault.catalog.commands",
                                "--complete", "--format", "json"], input=orjson.dumps(incomplete),
                               env=env, capture_output=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    report = orjson.loads(completed.stdout)
    assert report[0]["ok"] and report[0]["key"] == pid

    records = read_topic(stack.broker.access(), "gamevault.catalog.commands",
                         lambda recs: sum(r.key == pid.encode() for r in recs) >= 2)
    sent = [orjson.loads(r.value) for r in records if r.key == pid.encode()]
    assert [e["data"]["stock"] for e in sent] == [4, 5]

    wrong = subprocess.run([sys.executable, "-m", "gamevault", "produce", "gamevault.orders.events"],
                           env=env, capture_output=True, text=True, input="", timeout=60)
    assert wrong.returncode != 0 and "not an ingress topic" in wrong.stderr
