"""`make run`: every service and the web app on this machine, with the embedded store and the demo.

Starts `nameko run` for each service with its config.yml (RabbitMQ on localhost,
SQLite in ./data unless the environment says otherwise), waits until each is
healthy, prints the web app's address, loads the demo if the stores are empty, and stays in the foreground;
Ctrl-C (or SIGTERM) stops them all.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import requests

from services.demo import load_demo

REPO_ROOT = Path(__file__).resolve().parents[1]
WEB_PORT = 8000
REGISTER_DATABASE = Path(os.environ.get("DATA_DIR", "data")).resolve() / "register.sqlite"
SERVICES = {"initiatives": 8001, "letters_of_intent": 8002, "meetings": 8003, "evaluations": 8004, "audit": 8005}


def start(service: str, port: int, urls: dict[str, str]) -> subprocess.Popen[bytes]:
    """`nameko run` of one service; the audit service learns where the others are (AUDIT_SOURCES)."""
    # A developer's machine: the development tokens of config.yml are accepted (the README's curl lines)
    env = {"DEVELOPMENT": "true", **os.environ, "WEB_SERVER_ADDRESS": f"0.0.0.0:{port}"}
    if service == "audit":
        env["AUDIT_SOURCES"] = json.dumps({name: url for name, url in urls.items() if name not in ("audit", "web")})
    if service == "web":  # the pages read and write through every service; cookies over http on this machine
        env["WEB_SERVICES"] = json.dumps({name: url for name, url in urls.items() if name != "web"})
        env["WEB_SECURE_COOKIE"] = "false"
    nameko = str(Path(sys.executable).with_name("nameko"))
    return subprocess.Popen(
        [nameko, "run", "--config", f"services/{service}/config.yml", f"services.{service}.service"],
        cwd=REPO_ROOT, env=env,
    )


def start_register(urls: dict[str, str]) -> subprocess.Popen[bytes]:
    """The subscriber kit's example: the public register of decisions, kept in <DATA_DIR>/register.sqlite
    from the initiatives and meetings services' events (cases_subscriber/README.md), read with a role not
    cleared for secret content. Its tables are made by the subscriber itself, retried while its store is
    unreachable."""
    REGISTER_DATABASE.parent.mkdir(parents=True, exist_ok=True)
    env = {"REGISTER_TOKEN": "dev-strategist", "REGISTER_DATABASE": str(REGISTER_DATABASE), **os.environ,
           "REGISTER_INITIATIVES_URL": urls["initiatives"], "REGISTER_MEETINGS_URL": urls["meetings"]}
    return subprocess.Popen([sys.executable, "-m", "cases_subscriber.examples.register", "run"], cwd=REPO_ROOT,
                            env=env)


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"{url}: the service exited with code {process.returncode}")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise click.ClickException(f"{url} did not become healthy within {timeout:.0f}s")


@click.command()
@click.option("--initiatives-port", default=SERVICES["initiatives"], show_default=True, envvar="INITIATIVES_PORT")
@click.option("--letters-port", default=SERVICES["letters_of_intent"], show_default=True, envvar="LETTERS_PORT")
@click.option("--meetings-port", default=SERVICES["meetings"], show_default=True, envvar="MEETINGS_PORT")
@click.option("--evaluations-port", default=SERVICES["evaluations"], show_default=True, envvar="EVALUATIONS_PORT")
@click.option("--audit-port", default=SERVICES["audit"], show_default=True, envvar="AUDIT_PORT")
@click.option("--web-port", default=WEB_PORT, show_default=True, envvar="WEB_PORT")
@click.option("--demo/--no-demo", default=True, show_default=True, help="load the demo into empty stores")
def main(initiatives_port: int, letters_port: int, meetings_port: int, evaluations_port: int, audit_port: int,
         web_port: int, demo: bool) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the children on SIGTERM too
    ports = {"initiatives": initiatives_port, "letters_of_intent": letters_port, "meetings": meetings_port,
             "evaluations": evaluations_port, "audit": audit_port, "web": web_port}
    urls = {service: f"http://127.0.0.1:{port}" for service, port in ports.items()}
    processes = {service: start(service, port, urls) for service, port in ports.items()}
    try:
        for service, process in processes.items():
            wait_until_healthy(urls[service], process)
        processes["register"] = start_register(urls)  # not a service: no /health, it follows the events
        click.echo(f"web app on http://localhost:{web_port}  (sign in with a development role)")
        existing = requests.get(f"{urls['initiatives']}/initiatives",
                                headers={"Authorization": "Bearer dev-auditor"}, timeout=10).json()
        if demo and not existing["initiatives"]:
            initiative = load_demo(urls)["initiative"]
            click.echo(f"demo loaded: {initiative['diary_number']} {initiative['title']} ({initiative['state']})")
        click.echo("\n".join(
            [f"{service} on {url}  ({url}/openapi.json)" for service, url in urls.items() if service != "web"]
            + [f"curl -H 'Authorization: Bearer dev-auditor' {urls['initiatives']}/initiatives",
               "public register of decisions: .venv/bin/python -m cases_subscriber.examples.register show "
               f"--database {REGISTER_DATABASE}", "Ctrl-C stops"]
        ), nl=True)
        sys.stdout.flush()
        for process in processes.values():
            process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
