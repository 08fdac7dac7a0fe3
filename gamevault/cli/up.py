"""`gamevault up`: everything for one machine, in the foreground."""

from __future__ import annotations

import time
from pathlib import Path

import click
import httpx

from gamevault.cli.common import guarded, home_option, settings_from
from gamevault.cli.supervisor import Child, Supervisor, child_env, gamevault_argv

DEMO_ADMIN = "admin@demo.gamevault.test"


def _wait_ready(url: str, workers: int, timeout: float, children: list[Child]) -> set[str]:
    """Poll /readyz on the shared port until every worker has answered ready at least once."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline and len(seen) < workers:
            if any(c.proc is not None and c.proc.poll() is not None for c in children if c.name.startswith("worker")):
                dead = [c for c in children if c.proc is not None and c.proc.poll() is not None]
                raise click.ClickException(f"{dead[0].name} exited during start-up; see {dead[0].log_path}")
            try:
                response = client.get(f"{url}/readyz", headers={"Connection": "close"})
                if response.status_code == 200:
                    seen.add(response.json()["worker"])
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.2)
    return seen


@click.command()
@home_option
@click.option("--api-port", type=int, default=None, help="API port shared by all workers (default 8000).")
@click.option("--kafka-port", type=int, default=None, help="Local broker port (default 9092).")
@click.option("--workers", type=click.IntRange(1, 16), default=1, show_default=True, help="Worker processes.")
@click.option("--demo", is_flag=True, help="Seed a demo catalog, users and some traffic.")
@click.option("--ready-timeout", type=float, default=180.0, show_default=True)
@guarded
def up(home: Path | None, api_port: int | None, kafka_port: int | None, workers: int, demo: bool,
       ready_timeout: float) -> None:
    """Start the broker (unless GAMEVAULT_KAFKA_BOOTSTRAP is set), the topics, N workers with the API
    and the warehouse sink; print the URLs; stop all of it on Ctrl-C or SIGTERM."""
    from gamevault.broker.admin import ensure_topics
    from gamevault.broker.local import LocalKafka

    settings = settings_from(home, kafka_port, api_port=api_port)
    supervisor = Supervisor(echo=lambda m: click.echo(m, err=True))
    supervisor.install_signals()
    broker = None
    logs = settings.home / "logs"
    try:
        if settings.uses_local_broker:
            broker = LocalKafka(settings.home, settings.kafka_port)
            already = broker.status().running
            broker.start(echo=lambda m: click.echo(m, err=True), foreground_child=False)
            if already:
                broker = None  # not ours to stop
        ensure_topics(settings.kafka, echo=lambda m: None)
        admin = {}
        if demo and not (settings.admin_email and settings.admin_password):  # moderation needs an admin
            admin = {"GAMEVAULT_ADMIN_EMAIL": DEMO_ADMIN,
                     "GAMEVAULT_ADMIN_PASSWORD": settings.secret("demo-admin-password")}
            settings = settings.with_overrides(admin_email=admin["GAMEVAULT_ADMIN_EMAIL"],
                                               admin_password=admin["GAMEVAULT_ADMIN_PASSWORD"])
        env = child_env(GAMEVAULT_HOME=str(settings.home), GAMEVAULT_KAFKA_PORT=str(settings.kafka_port),
                        GAMEVAULT_API_PORT=str(settings.api_port), **admin)
        for extra in _extra_children(settings, env, logs, demo):
            supervisor.add(extra)
        for n in range(workers):
            supervisor.add(Child(f"worker-{n + 1}", gamevault_argv("worker", "--loglevel", "warn"), env,
                                 logs / f"worker-{n + 1}.log"))
        ready = _wait_ready(settings.api_url, workers, ready_timeout, supervisor.children)
        if not ready:
            raise click.ClickException(f"no worker became ready in {ready_timeout:.0f}s; see {logs}")
        if demo:
            from gamevault.cli.demo import seed_demo

            seed_demo(settings, echo=lambda m: click.echo(m, err=True))
        click.echo(
            f"GameVault is up ({len(ready)}/{workers} workers ready)\n"
            f"  API        {settings.api_url}/api/v1\n"
            f"  API docs   {settings.api_url}/docs\n"
            f"  health     {settings.api_url}/healthz  {settings.api_url}/readyz  {settings.api_url}/metrics\n"
            f"  Kafka      {settings.kafka.describe()}  (client settings: gamevault kafka client-config)\n"
            f"  lake       {settings.lake}  (query: gamevault sql)\n"
            f"  logs       {logs}\n"
            + (f"  admin      {DEMO_ADMIN} (password in {settings.secrets_dir / 'demo-admin-password'})\n"
               if admin else "")
            + "Ctrl-C stops everything."
        )
        supervisor.watch()
    finally:
        click.echo("stopping ...", err=True)
        supervisor.stop_all()
        if broker is not None:
            broker.stop(echo=lambda m: click.echo(m, err=True))
        click.echo("stopped", err=True)


def _extra_children(settings, env, logs: Path, demo: bool) -> list[Child]:
    """Services beside the workers: the warehouse sink, and the gateway simulators (unless real gateways
    are configured)."""
    children = [Child("warehouse-sink", gamevault_argv("warehouse", "sink"), env, logs / "warehouse-sink.log")]
    if settings.simulators_url is None:
        children.append(Child("simulators", gamevault_argv("simulators"), env, logs / "simulators.log"))
    return children
