"""Other services reach initiatives over nameko RPC, through the real broker."""
from __future__ import annotations

from typing import Any

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from tests.support.cases import drive, submit
from tests.support.services import Api


def test_an_initiative_can_be_read_by_id_and_by_diary_number(api: Api, config: dict[str, Any]) -> None:
    initiative = drive(api, submit(api)["id"], "registration")

    with ServiceRpcProxy("initiatives", {"AMQP_URI": config["AMQP_URI"]}) as initiatives:
        by_id = initiatives.get_initiative_by_id(initiative["id"])
        by_number = initiatives.get_initiative_by_diary_number(initiative["diary_number"])
        with pytest.raises(RemoteError) as unknown:
            initiatives.get_initiative_by_diary_number("RUN 1999-9999")

    assert by_id == by_number == api.get(f"/initiatives/{initiative['id']}").json()
    assert unknown.value.exc_type == "NotFound"
