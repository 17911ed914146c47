"""`make run`: the initiatives service on this machine, with the embedded store and the demo.

Starts `nameko run` with the service's config.yml (RabbitMQ on localhost, SQLite in
./data unless the environment says otherwise), waits until it is healthy, loads
seed 000's initiative if the store is empty, and stays in the foreground.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import requests

from services.initiatives.demo import Client, load_seed_000

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"the service exited with code {process.returncode}")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise click.ClickException(f"the service did not become healthy within {timeout:.0f}s")


@click.command()
@click.option("--port", default=8001, show_default=True, envvar="INITIATIVES_PORT")
@click.option("--demo/--no-demo", default=True, show_default=True, help="load seed 000 into an empty store")
def main(port: int, demo: bool) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the child on SIGTERM too
    env = {**os.environ, "WEB_SERVER_ADDRESS": f"0.0.0.0:{port}"}
    nameko = str(Path(sys.executable).with_name("nameko"))
    process = subprocess.Popen(
        [nameko, "run", "--config", "services/initiatives/config.yml", "services.initiatives.service"],
        cwd=REPO_ROOT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        client = Client(url)
        existing = client.session.get(
            f"{url}/initiatives", headers={"Authorization": "Bearer dev-auditor"}, timeout=10
        ).json()["initiatives"]
        if demo and not existing:
            initiative = load_seed_000(client)
            click.echo(f"demo loaded: {initiative['diary_number']} {initiative['title']} ({initiative['state']})")
        click.echo(
            f"\ninitiatives service on {url}  (Ctrl-C stops)\n"
            f"  {url}/openapi.json\n"
            f"  curl -H 'Authorization: Bearer dev-auditor' {url}/initiatives\n"
        )
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
