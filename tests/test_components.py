"""The real components CI runs against: each test proves one is really used."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from asgiref.sync import async_to_sync
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection

from tests.components import redis_available, redis_url, require


def test_a_file_written_through_django_storages_is_read_back_through_boto3(s3_storage: str, s3_server: str) -> None:
    storage = storages["default"]
    name = storage.save(f"checks/{uuid.uuid4().hex}.txt", ContentFile(b"bonjour S3"))

    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="eu-west-3",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    body = s3.get_object(Bucket=s3_storage, Key=name)["Body"].read()

    assert body == b"bonjour S3"
    assert storage.url(name).startswith(s3_server)
    storage.delete(name)
    assert s3.list_objects_v2(Bucket=s3_storage).get("KeyCount") == 0


def test_an_object_created_through_the_stripe_sdk_is_fetched_back(stripe_settings: Any) -> None:
    from payments.stripe_gateway import stripe_client

    client = stripe_client()
    created = client.v1.customers.create(params={"email": "acheteuse@example.org"})
    fetched = client.v1.customers.retrieve(created.id)

    assert fetched.id == created.id and fetched.email == "acheteuse@example.org"


def test_the_channel_layer_round_trips_through_redis_when_configured(settings: Any) -> None:
    require("redis", redis_available(), f"no Redis at {redis_url()}")
    from channels_redis.pubsub import RedisPubSubChannelLayer

    layer = RedisPubSubChannelLayer(hosts=[redis_url()])

    async def round_trip() -> dict[str, Any]:
        channel = await layer.new_channel()
        await layer.group_add("tremma-check", channel)
        await layer.group_send("tremma-check", {"type": "check", "n": 7})
        message = await layer.receive(channel)
        await layer.flush()
        return message

    assert async_to_sync(round_trip)() == {"type": "check", "n": 7}


@pytest.mark.django_db
def test_the_suite_runs_on_postgresql_when_asked() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        assert cursor.fetchone()[0]
