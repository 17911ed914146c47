"""A read model killed with SIGKILL in the middle of catching up neither loses nor doubles a row.

The service is down while thousands of cases are written to its store; started again, its read
model catches up in batches, and is killed mid-way. Started once more, it goes on from the
position recorded with the last batch it finished: every case is listed once, and the tables
equal a rebuild from the log."""
from __future__ import annotations

from typing import Any

from bench.fill import fill_initiatives
from services.initiatives.application import InitiativesApplication
from shared.store import persistence_env
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import eventually
from tests.support.services import ServiceProcess, api_for, service_config

CASES = 6000


class WithoutReadModel(InitiativesApplication):
    """Writes the cases as an import would: no read model of its own takes their rows as it saves."""

    name = InitiativesApplication.name  # the same store (eventsourcing names a subclass's tables after it)
    read_model_class = None


def test_a_read_model_killed_while_catching_up_neither_loses_nor_doubles_a_row(
    infrastructure: Infrastructure, store_config: dict[str, Any], tmp_path: Any
) -> None:
    infrastructure.purge_inboxes()
    config = service_config(infrastructure.amqp_uri, store_config)
    app = InitiativesApplication(persistence_env(config, "initiatives"))
    importer = WithoutReadModel(persistence_env(config, "initiatives"))
    try:
        fill_initiatives(importer, CASES, per_save=500)  # written while no service runs: nothing read yet
        head = app.recorder.max_notification_id()
        assert app.read_model.position == 0

        service = ServiceProcess(config, str(tmp_path / "initiatives.log")).start()
        try:
            position = eventually(lambda: app.read_model.position, lambda reached: reached > 0, timeout=60, pause=0.01)
            service.kill()
        finally:
            service.stop()
        stopped_at = app.read_model.position
        assert 0 < position <= stopped_at < head, "killed before it had caught up"

        service.start()
        try:
            api = api_for(config)
            eventually(lambda: api.get("/health", None).json()["read_model_position"], lambda at: at == head,
                       timeout=120)
            listed = api.every("/initiatives", "initiatives")
        finally:
            service.stop()
        assert len(listed) == len({case["id"] for case in listed}) == CASES
        live = app.read_model.view.dump_rows()
        assert len(live["initiatives_rm_initiatives"]) == len(live["initiatives_rm_search"]) == CASES
        app.rebuild_read_model()
        assert app.read_model.view.dump_rows() == live
    finally:
        importer.close()
        app.close()
