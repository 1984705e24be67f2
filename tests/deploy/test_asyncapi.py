"""deploy/asyncapi.yaml: generated from the code (``python -m gridcommons.asyncapi``), valid for the AsyncAPI
parser, and saying for every topic of every service of the registry (deploy/services.toml) who publishes
it, who consumes it, its event types and their payload schemas.

The committed file must be the generator's output; the other tests check the document against the code
by other routes than the generator's (the events modules' constants, the workers as ``build`` wires them,
the payload models' own JSON schemas, the HTTP door's request body), and the parser test runs the npm
``@asyncapi/parser`` (tests/deploy/asyncapi_parser, installed by ``make install``) with Node.
"""

from __future__ import annotations

import difflib
import importlib
import json
import shutil
import subprocess
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from asset_service.assets import events as asset_events
from gridcommons.asyncapi import (
    AsyncApiError,
    build_document,
    event_modules,
    modules_named,
    published_by,
    render,
    service_events,
)
from gridcommons.consumer import ConsumerGroup, ConsumerRunner
from gridcommons.events import CloudEvent, Consumes, IngestDoor, asyncapi_payload_schemas
from gridcommons.registry import ServiceEntry, load_registry

ROOT = Path(__file__).parents[2]
DOCUMENT = ROOT / "deploy" / "asyncapi.yaml"
DOC = yaml.safe_load(DOCUMENT.read_text())
REGISTRY = load_registry(ROOT)
PARSER_DIR = Path(__file__).parent / "asyncapi_parser"


def _event_modules() -> list[ModuleType]:
    return [m for entry in REGISTRY for m in event_modules(entry, ROOT)]


def _consumes(entry: ServiceEntry) -> list[Consumes | IngestDoor]:
    return service_events(entry, ROOT).consumes


def _component(ref: dict[str, str]) -> dict[str, Any]:
    section, name = ref["$ref"].split("/")[-2:]
    return DOC["components"][section][name]


def _channel_types(topic: str) -> set[str]:
    return {_component(m)["name"] for m in DOC["channels"][topic]["messages"].values()}


# ----------------------------------------------------------------------------- generated, and valid


def test_the_committed_document_is_the_generated_one() -> None:
    generated = render(build_document(ROOT))
    committed = DOCUMENT.read_text()
    if committed != generated:
        diff = difflib.unified_diff(
            committed.splitlines(), generated.splitlines(), "committed", "generated", lineterm=""
        )
        pytest.fail("deploy/asyncapi.yaml is stale: run `make asyncapi` and commit it\n" + "\n".join(list(diff)[:60]))


def _parse(path: Path) -> dict[str, Any]:
    """The npm AsyncAPI parser's verdict on ``path`` (validate.mjs: diagnostics and a summary)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the AsyncAPI parser runs on Node.js 20 (part of the machine image)")
    if not (PARSER_DIR / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail(f"the AsyncAPI parser is not installed: run `make install` (npm ci in {PARSER_DIR})")
    result = subprocess.run(
        [node, str(PARSER_DIR / "validate.mjs"), str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"the AsyncAPI parser refused {path.name}:\n{result.stderr}{result.stdout}"
    summary: dict[str, Any] = json.loads(result.stdout)
    summary["stderr"] = result.stderr
    return summary


@pytest.fixture(scope="module")
def parsed() -> dict[str, Any]:
    return _parse(DOCUMENT)


def _expected_operations() -> dict[str, int]:
    """Operations by kind, counted from the code: a send per published topic; per consumed topic a receive
    and a send to its DLQ; a send per ingestion door for its senders."""
    published = {topic for m in _event_modules() for topic in published_by([m])}
    consumes = [c for entry in REGISTRY for c in _consumes(entry)]
    return {
        "publish": len(published),
        "consume": sum(len(c.topics) for c in consumes),
        "dead-letter": sum(len(c.topics) for c in consumes),
        "ingest": sum(isinstance(c, IngestDoor) for c in consumes),
    }


def test_the_asyncapi_parser_accepts_the_document(parsed: dict[str, Any]) -> None:
    assert parsed["errors"] == 0 and parsed["warnings"] == 0, parsed["stderr"]
    assert parsed["version"] == DOC["asyncapi"] == "3.1.0"
    expected = _expected_operations()
    assert expected["publish"] >= 11 and expected["consume"] >= 4 and expected["ingest"] >= 2
    assert len(parsed["operations"]) == sum(expected.values())
    actions = [op["action"] for op in parsed["operations"]]
    assert actions.count("receive") == expected["consume"]
    assert len(parsed["channels"]) == len(DOC["channels"])


def test_asset_service_sends_and_receives_what_its_code_does(parsed: dict[str, Any]) -> None:
    """Who does what, as the parser reads the document: each operation's service tag, action and channel."""
    done = {(op["tags"][0], op["action"], op["channels"][0]) for op in parsed["operations"]}
    receives = {ch for tag, action, ch in done if tag == "asset-service" and action == "receive"}
    assert receives == {"gateway.membership.v1", "gateway.token.v1", "ingest.asset-statuses.v1", "ingest.dispatches.v1"}
    assert ("gateway", "send", "gateway.token.v1") in done and ("gateway", "send", "gateway.membership.v1") in done
    assert ("asset-service", "send", asset_events.TOPIC) in done
    assert ("device", "send", "ingest.asset-statuses.v1") in done and ("device", "send", "ingest.dispatches.v1") in done
    assert ("asset-service", "send", "ingest.dispatches.v1.dlq") in done
    created = next(op for op in parsed["operations"] if op["channels"] == [asset_events.TOPIC])
    assert asset_events.CREATED in created["messages"] and asset_events.LIFECYCLE_CHANGED in created["messages"]


# ----------------------------------------------------------------------------- publishers


def test_every_service_publishes_on_its_own_topic_prefix() -> None:
    """What a service publishes is what its Kafka ACL (the registry's topic_prefix) lets it write."""
    found = {entry.name: published_by(event_modules(entry, ROOT)) for entry in REGISTRY}
    assert found["gateway"] and found["asset-service"]
    for entry in REGISTRY:
        for topic in found[entry.name]:
            assert topic.startswith(entry.topic_prefix), (entry.name, topic, entry.topic_prefix)


def _type_constants(module: ModuleType) -> set[str]:
    """The event types an ``events`` module names (its ``org.gridcommons.*`` string constants)."""
    prefix = getattr(module, "_PREFIX", None)
    return {v for v in vars(module).values() if isinstance(v, str) and v.startswith("org.gridcommons.") and v != prefix}


def test_every_event_type_an_events_module_names_has_a_payload_model() -> None:
    for module in _event_modules():
        payloads = getattr(module, "PAYLOADS", {})
        assert _type_constants(module) <= set(payloads), (module.__name__, _type_constants(module) - set(payloads))


def test_every_published_topic_and_type_is_documented_with_its_publisher() -> None:
    documented = 0
    for entry in REGISTRY:
        for module in event_modules(entry, ROOT):
            topics = getattr(module, "TOPICS", None) or {module.TOPIC: set(module.PAYLOADS)}
            for topic, types in topics.items():
                assert set(types) <= _channel_types(topic), (topic, set(types) - _channel_types(topic))
                publish = DOC["operations"][f"{entry.name}.publish.{topic}"]
                assert publish["action"] == "send" and publish["x-service"] == entry.name
                assert publish["channel"] == {"$ref": f"#/channels/{topic}"}
                documented += len(types)
    assert _channel_types("gateway.token.v1") == {"org.gridcommons.gateway.token.revoked"}
    assert documented == len({n for n, m in DOC["components"]["messages"].items() if n.startswith("org.")})


def test_every_event_message_is_the_envelope_with_its_type_source_key_and_data() -> None:
    for module in _event_modules():
        db = [importlib.import_module(n) for n in modules_named(_entry_of(module), "db", ROOT)]
        source = next(d.outbox.source for d in db if hasattr(d, "outbox"))
        for event_type, model in module.PAYLOADS.items():
            message = DOC["components"]["messages"][event_type]
            envelope, attributes = message["payload"]["allOf"]
            assert envelope == {"$ref": "#/components/schemas/CloudEvent"}
            assert attributes["properties"]["type"] == {"const": event_type}
            assert attributes["properties"]["source"] == {"const": source}
            assert _component(attributes["properties"]["data"])["title"] == model.__name__
            assert message["bindings"]["kafka"]["key"]["description"]
            assert message["headers"] == {"$ref": "#/components/schemas/EventHeaders"}


def _entry_of(module: ModuleType) -> ServiceEntry:
    return next(e for e in REGISTRY if module.__name__.split(".")[0] == e.package)


def test_the_envelope_schema_has_every_cloudevent_attribute() -> None:
    envelope = DOC["components"]["schemas"]["CloudEvent"]
    assert set(envelope["properties"]) == set(CloudEvent.model_fields)
    assert all(p.get("description") for p in envelope["properties"].values())
    # What the relay writes: every attribute with a value (exclude_none), so these are always there.
    event = CloudEvent(source="/services/x", type="t", data={})
    assert set(envelope["required"]) <= set(json.loads(event.to_bytes()))


# ----------------------------------------------------------------------------- payload schemas


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root.get("$defs", {}).get(name) or DOC["components"]["schemas"][name]
    return schema


def _shape(schema: dict[str, Any], root: dict[str, Any], depth: int = 0) -> Any:
    """What a consumer relies on, nested models included: per property its JSON types, enum, format and
    nested shape; the required properties."""
    schema = _resolve(schema, root)
    if depth > 6 or "properties" not in schema:
        items = schema.get("items")
        return {
            "type": schema.get("type"),
            "enum": schema.get("enum"),
            "format": schema.get("format"),
            "items": _shape(items, root, depth + 1) if items else None,
            "anyOf": [_shape(v, root, depth + 1) for v in schema.get("anyOf", [])],
        }
    return {
        "properties": {name: _shape(prop, root, depth + 1) for name, prop in schema["properties"].items()},
        "required": sorted(schema.get("required", [])),
    }


def test_every_payload_schema_is_its_model_s_json_schema() -> None:
    """The document's data schema of each event type is what its payload model generates on its own
    (``gridcommons.events.asyncapi_payload_schemas``), nested models included."""
    payloads = asyncapi_payload_schemas(_event_modules())
    assert {asset_events.CREATED, "org.gridcommons.gateway.token.revoked"} <= set(payloads)
    for event_type, generated in payloads.items():
        data = DOC["components"]["messages"][event_type]["payload"]["allOf"][1]["properties"]["data"]
        assert _shape(data, DOC) == _shape(generated, generated), event_type


def test_replica_event_schemas_match_the_kernel_models() -> None:
    from gridcommons.replicas import MembershipChangedV1, TokenRevokedV1

    schemas = DOC["components"]["schemas"]
    assert set(schemas["TokenRevokedV1"]["properties"]) == set(TokenRevokedV1.model_fields)
    assert set(schemas["MembershipChangedV1"]["properties"]) == set(MembershipChangedV1.model_fields)


# ----------------------------------------------------------------------------- consumers


def _wired(entry: ServiceEntry) -> tuple[set[str], dict[str, tuple[str, ...]]]:
    """What ``build`` really wires: the Kafka consumer groups and {runner name: topics}."""
    module, _, attr = (entry.workers or "").partition(":")
    workers = importlib.import_module(module)
    engine = create_async_engine("postgresql+asyncpg://unused@127.0.0.1:1/unused")
    groups: set[str] = set()
    runners: dict[str, tuple[str, ...]] = {}
    for worker in getattr(workers, attr)(workers.load_settings(), engine):
        if isinstance(worker, ConsumerGroup):
            groups.add(worker.name)
            runners |= {r.name: r.topics for r in worker.runners}
        elif isinstance(worker, ConsumerRunner):
            groups.add(worker.name)
            runners[worker.name] = worker.topics
    return groups, runners


@pytest.mark.parametrize("entry", [e for e in REGISTRY if e.workers], ids=lambda e: e.name)
def test_declared_consumers_are_the_wired_ones(entry: ServiceEntry, monkeypatch: pytest.MonkeyPatch) -> None:
    """A service's CONSUMES (what the document says it reads) is what its workers' ``build`` wires."""
    monkeypatch.setenv("TOKEN_JWKS_URL", "http://127.0.0.1:1/.well-known/jwks.json")  # ingestion doors need a key
    groups, runners = _wired(entry)
    declared = service_events(entry, ROOT)
    assert {c.consumer: c.topics for c in declared.consumes} == runners, (
        f"{entry.name}: CONSUMES in {entry.workers} must list every consumer build() wires (Consumes or IngestDoor; "
        "replicas.consumes() for the replicas); then run `make asyncapi`"
    )
    if runners:
        documented = {
            op["bindings"]["kafka"]["groupId"]["enum"][0]
            for op in DOC["operations"].values()
            if op["x-service"] == entry.name and op["action"] == "receive"
        }
        assert documented == groups, (entry.name, documented, groups)
    if entry.name == "asset-service":
        assert set(runners) == {"asset-service.gateway-replicas", "asset-service.statuses", "asset-service.dispatches"}


def test_every_consumed_topic_has_a_receive_operation_and_a_dead_letter_channel() -> None:
    for entry in REGISTRY:
        for consumer in _consumes(entry):
            for topic in consumer.topics:
                receive = DOC["operations"][f"{consumer.consumer}.consume.{topic}"]
                assert (receive["action"], receive["x-service"]) == ("receive", entry.name)
                assert receive["description"] == consumer.description
                dead_letter = DOC["operations"][f"{consumer.consumer}.dead-letter.{topic}"]
                assert dead_letter["channel"] == {"$ref": f"#/channels/{topic}.dlq"}
                assert consumer.consumer in DOC["channels"][f"{topic}.dlq"]["description"]


def test_dead_letter_headers_are_the_ones_the_consumer_writes() -> None:
    import inspect

    from gridcommons import consumer

    headers = DOC["components"]["schemas"]["DeadLetterHeaders"]
    assert set(headers["required"]) == {"dlq_error", "dlq_consumer", "dlq_source"}
    source = inspect.getsource(consumer.ConsumerRunner._dead_letter)
    assert all(f'("{h}",' in source for h in headers["required"])
    dlq_channels = {name for name in DOC["channels"] if name.endswith(".dlq")}
    consumed = {t for e in REGISTRY for c in _consumes(e) for t in c.topics}
    assert dlq_channels == {f"{t}.dlq" for t in consumed}


# ----------------------------------------------------------------------------- ingestion doors


def test_ingestion_channels_document_the_credential_header_and_the_door_s_payload() -> None:
    """Every ingest.* topic a service consumes (its workers' TOPIC constants) is documented with the
    authorization header and the payload model of its consumer."""
    from asset_service.dispatches import workers as dispatch_workers
    from asset_service.statuses import workers as status_workers
    from gridcommons.ingest import AUTHORIZATION_HEADER, COMPANY_HEADER

    consumed = {
        topic
        for entry in REGISTRY
        for name in modules_named(entry, "workers", ROOT)
        if isinstance(topic := getattr(importlib.import_module(name), "TOPIC", None), str)
        and topic.startswith("ingest.")
    }
    assert {status_workers.TOPIC, dispatch_workers.TOPIC} <= consumed
    documented = {name for name in DOC["channels"] if name.startswith("ingest.") and not name.endswith(".dlq")}
    assert consumed == documented
    headers = DOC["components"]["schemas"]["IngestionHeaders"]
    assert headers["required"] == [AUTHORIZATION_HEADER]
    assert {AUTHORIZATION_HEADER, COMPANY_HEADER} <= set(headers["properties"])
    doors = {c.topic: c for e in REGISTRY for c in _consumes(e) if isinstance(c, IngestDoor)}
    for topic in consumed:
        door = doors[topic]
        (message,) = (_component(m) for m in DOC["channels"][topic]["messages"].values())
        assert message["headers"] == {"$ref": "#/components/schemas/IngestionHeaders"}
        enveloped, plain = message["payload"]["oneOf"]
        name = door.payload.__name__
        model_schema = door.payload.model_json_schema(mode="validation", by_alias=True)
        generated = _shape(model_schema, model_schema)
        # the plain form: the model, and the company it may name
        assert plain == {"$ref": f"#/components/schemas/{name}-Plain"}
        plain_shape = _shape(plain, DOC)
        assert plain_shape["properties"].pop("company_id") and plain_shape == generated, topic
        # in an envelope: the model, with the fields the envelope fills optional
        data = enveloped["allOf"][1]["properties"]["data"]
        data_shape = _shape(data, DOC)
        assert data_shape["properties"] == generated["properties"], topic
        assert set(data_shape["required"]) == set(generated["required"]) - set(door.envelope_defaults), topic
        assert data == {"$ref": f"#/components/schemas/{name}{'-InEnvelope' if door.envelope_defaults else ''}"}


def test_the_asset_statuses_door_has_the_http_door_s_body() -> None:
    """ingest.asset-statuses.v1 carries what POST /api/ingest/asset-statuses takes: the same schema."""
    from asset_service.app import create_app
    from asset_service.settings import AssetSettings

    openapi = create_app(AssetSettings()).openapi()
    body = openapi["paths"]["/api/ingest/asset-statuses"]["post"]["requestBody"]["content"]["application/json"]
    http_model = body["schema"]["$ref"].rsplit("/", 1)[-1]
    (message,) = (_component(m) for m in DOC["channels"]["ingest.asset-statuses.v1"]["messages"].values())
    assert message["payload"]["oneOf"][1] == {"$ref": f"#/components/schemas/{http_model}-Plain"}
    http_schema = openapi["components"]["schemas"][http_model]
    documented = DOC["components"]["schemas"][http_model]
    assert set(documented["properties"]) == set(http_schema["properties"])
    assert documented["required"] == http_schema["required"]


# ----------------------------------------------------------------------------- a new service


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def test_a_new_service_appears_by_declaring_its_topics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry whose new service declares an events module (TOPIC, PAYLOADS, a TopicDoc) and CONSUMES in its
    workers gets its channels and operations, valid for the parser, with no change to the generator."""
    _write(
        tmp_path / "deploy" / "services.toml",
        """
        [[service]]
        name = "gateway"
        package = "gateway"
        app = "gateway.app:create_app"
        port = 8000
        port_env = "GATEWAY_PORT"
        migrations = "gateway/migrations"
        topic_prefix = "gateway."

        [[service]]
        name = "demo-service"
        package = "demo_service_asyncapi"
        app = "demo_service_asyncapi.app:create_app"
        port = 8199
        port_env = "DEMO_PORT"
        migrations = "demo-service/migrations"
        workers = "demo_service_asyncapi.workers:build"
        topic_prefix = "demo."
        ingest = ["demo-readings"]
        """,
    )
    package = tmp_path / "demo-service" / "demo_service_asyncapi"
    _write(package / "__init__.py", '"""demo-service: a service made up for this test."""\n')
    _write(
        package / "things" / "events.py",
        """
        from pydantic import BaseModel
        from gridcommons.events import TopicDoc

        TOPIC = "demo.thing.v1"
        TOPIC_DOC = TopicDoc(TOPIC, key="the thing id", description="Things.")
        CHANGED = "org.gridcommons.demo.thing.changed"

        class ThingChangedV1(BaseModel):
            id: str

        PAYLOADS = {CHANGED: ThingChangedV1}
        """,
    )
    _write(package / "things" / "__init__.py", "")
    _write(
        package / "workers.py",
        """
        from pydantic import BaseModel
        from gridcommons.events import Consumes, IngestDoor

        class Readings(BaseModel):
            values: list[float]

        CONSUMER_GROUP = "demo-service.consumers"
        CONSUMES = [
            Consumes("demo-service.things", ("demo.thing.v1",), "Counts things."),
            IngestDoor("demo-service.readings", "ingest.demo-readings.v1", Readings, ("device",), key="k", description="R."),
        ]
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path / "demo-service"))
    document = build_document(tmp_path)
    assert set(document["channels"]) == {
        "demo.thing.v1",
        "ingest.demo-readings.v1",
        "demo.thing.v1.dlq",
        "ingest.demo-readings.v1.dlq",
    }
    assert set(document["operations"]) == {
        "demo-service.publish.demo.thing.v1",
        "demo-service.things.consume.demo.thing.v1",
        "demo-service.things.dead-letter.demo.thing.v1",
        "demo-service.readings.consume.ingest.demo-readings.v1",
        "demo-service.readings.dead-letter.ingest.demo-readings.v1",
        "device.send.ingest.demo-readings.v1",
    }
    assert "POST /api/ingest/demo-readings" in document["channels"]["ingest.demo-readings.v1"]["description"]
    path = tmp_path / "asyncapi.yaml"
    path.write_text(render(document))
    parsed = _parse(path)
    assert parsed["errors"] == 0 and len(parsed["operations"]) == 6


def test_the_generator_refuses_what_it_cannot_document() -> None:
    undocumented = ModuleType("undocumented_events")
    undocumented.PAYLOADS = {"org.gridcommons.x.y.z": CloudEvent}  # type: ignore[attr-defined]
    with pytest.raises(AsyncApiError, match="without TOPIC"):
        published_by([undocumented])
    undocumented.TOPICS = {"x.y.v1": {"org.gridcommons.x.y.other"}}  # type: ignore[attr-defined]
    with pytest.raises(AsyncApiError, match="no payload model"):
        published_by([undocumented])


# ----------------------------------------------------------------------------- records against the document


def test_records_as_the_services_write_them_match_the_document() -> None:
    """A record as the outbox relay and the consumers write it matches its message; a wrong one does not."""
    from gateway.auth.db import outbox as gateway_outbox
    from gridcommons.events import event_data
    from gridcommons.replicas import TOKEN_REVOKED, TokenRevokedV1
    from gridcommons.testing.asyncapi import record_errors

    revoked = CloudEvent(
        source=gateway_outbox.source,
        type=TOKEN_REVOKED,
        subject="jti-1",
        data=event_data(TokenRevokedV1(jti="jti-1", expires_at=datetime(2027, 1, 1, tzinfo=UTC))),
    )
    headers = [("content-type", b"application/cloudevents+json"), ("ce_id", revoked.id.encode())]
    assert record_errors(TOKEN_REVOKED, revoked.to_bytes(), headers, document=DOC) == []
    assert record_errors(TOKEN_REVOKED, revoked.to_bytes(), headers[:1], document=DOC)  # no ce_id
    wrong_type = revoked.model_copy(update={"type": "org.gridcommons.gateway.token.other"})
    assert record_errors(TOKEN_REVOKED, wrong_type.to_bytes(), headers, document=DOC)
    no_jti = revoked.model_copy(update={"data": {"expires_at": "2027-01-01T00:00:00Z"}})
    assert record_errors(TOKEN_REVOKED, no_jti.to_bytes(), headers, document=DOC)
    # a dead letter: the original headers, plus the consumer's three
    dead = [*headers, ("dlq_error", b"PoisonMessage: x"), ("dlq_consumer", b"c"), ("dlq_source", b"t:0:1")]
    assert record_errors("deadLetter", b"{not json", dead, document=DOC) == []
    assert record_errors("deadLetter", b"{not json", dead[:-1], document=DOC)


def test_ingestion_messages_the_consumers_accept_match_the_document() -> None:
    """The encodings the ingestion consumers accept (tests/asset_service: test_ingest_credentials,
    test_dispatches) match the document; refused ones do not."""
    from gridcommons.testing.asyncapi import record_errors
    from gridcommons.testing.plugin import ingest_headers

    headers = ingest_headers("a.b.c")
    status = {"asset_id": "DE_50HZ_WU_1", "status": "AVAILABLE", "effective_at": "2027-01-01T00:00:00Z", "reasons": []}
    accepted = [
        {"statuses": [status]},
        {"statuses": [status], "company_id": 7},
        json.loads(CloudEvent(source="/devices/gw-1", type="t", data={"statuses": [status]}).to_bytes()),
        {
            "specversion": "1.0",
            "id": "1",
            "source": "/d",
            "type": "t",
            "companyid": "7",
            "data": {"statuses": [status]},
        },
    ]
    for body in accepted:
        assert record_errors("ingest.asset-statuses", json.dumps(body).encode(), headers, document=DOC) == [], body
    refused = [{"statuses": []}, {"statuses": [status], "extra": 1}, {"statuses": [status], "company_id": 0}]
    for body in refused:
        assert record_errors("ingest.asset-statuses", json.dumps(body).encode(), headers, document=DOC), body
    assert record_errors("ingest.asset-statuses", json.dumps(accepted[0]).encode(), [], document=DOC)  # no credential
    power = {"amount": "1.5", "unit": "MW"}
    command = {
        "event_id": "3f1c2b9e-2d7a-4c1e-9a51-0c7d4f6b8e21",
        "source": "/optimiser",
        "published_at": "2027-01-01T09:59:58Z",
        "asset_id": "DE_50HZ_WU_1",
        "dispatch_time": "2027-01-01T09:55:00Z",
        "delivery_period_start": "2027-01-01T10:00:00Z",
        **{k: power for k in ("target_power", "nominal_power", "power_imbalance", "soc_imbalance")},
    }
    bare = {k: v for k, v in command.items() if k not in ("event_id", "source", "published_at")}
    enveloped = json.loads(CloudEvent(source="/optimiser", type="t", companyid="7", data=bare).to_bytes())
    for body in (command, {**command, "company_id": "7"}, enveloped):
        assert record_errors("ingest.dispatches", json.dumps(body).encode(), headers, document=DOC) == [], body
    assert record_errors("ingest.dispatches", json.dumps(bare).encode(), headers, document=DOC)  # plain needs them
