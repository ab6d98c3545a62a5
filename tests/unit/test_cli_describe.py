"""`antq describe`: every command's and query's payload one command away, read from the committed
schemas, with an example the contract accepts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shared.client.cli import app
from shared.client.cli.describe import EXAMPLES, example_of, schema_of
from shared.contract.services import SERVICES

ALL = [(s.name, name, model) for s in SERVICES for name, model in {**s.commands, **s.queries}.items()]


@pytest.mark.parametrize(("service", "name", "model"), ALL, ids=[f"{s}:{n}" for s, n, _ in ALL])
def test_every_payload_is_described_with_an_example_the_contract_accepts(service, name, model):
    _, schema = schema_of(service, name)
    model.model_validate(EXAMPLES.get((service, name)) or example_of(schema, schema))


def test_describe_prints_fields_limits_and_an_example_and_refuses_unknown_names():
    runner = CliRunner()
    shown = runner.invoke(app, ["describe", "registry", "report-festival"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "held_on" in text and "gifts.recipients" in text
    assert "participants │ integer │ yes │ ≥ 0; ≤ 100000000" in text
    assert "example: antq command registry report-festival '{" in text
    unknown = runner.invoke(app, ["describe", "registry", "report-festivl"])
    assert unknown.exit_code == 2 and "has no command or query 'report-festivl'" in " ".join(unknown.output.split())
    nothing = runner.invoke(app, ["describe", "regisrty", "x"])
    assert nothing.exit_code == 2 and "no service 'regisrty'" in nothing.output
