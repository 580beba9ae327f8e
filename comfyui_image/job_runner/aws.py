"""Thin boto3 adapters for the jobs table, queue and outputs bucket. boto3 is blocking, so every call runs
in a worker thread (asyncio.to_thread); clients are created once. AWS_ENDPOINT_URL (boto3 reads it) points
the tests at moto."""
from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import AsyncIterator, List, Optional

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize
# Parts of a multipart upload: S3's minimum is 5 MiB for every part but the last
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html); 8 MiB bounds memory per upload.
PART_BYTES = 8 * 2**20


def _to_dynamo(value):
    """DynamoDB numbers are Decimals; a JSON round trip turns floats (ComfyUI's error details) into them."""
    return _serialize(json.loads(json.dumps(value), parse_float=Decimal))


def _from_dynamo(item: dict) -> dict:
    return {k: _plain(_deserialize(v)) for k, v in item.items()}


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_plain(v) for v in value]
    return value


def make_session_clients(region: str, connections: int):
    # Adaptive retries ride out throttling on a burst; the pool fits the runner's concurrent jobs.
    config = Config(region_name=region, retries={"mode": "adaptive", "max_attempts": 8},
                    max_pool_connections=connections)
    session = boto3.session.Session()
    return (session.client("dynamodb", config=config), session.client("sqs", config=config),
            session.client("s3", config=config))


class ConditionFailed(Exception):
    """The transition's condition did not hold: another runner or the API changed the job first. `item` is
    the job as it was, when the update asked for it (ReturnValuesOnConditionCheckFailure) and it exists."""

    def __init__(self, condition: str, item: Optional[dict] = None) -> None:
        super().__init__(condition)
        self.item = item


class JobStore:
    def __init__(self, client, table_name: str) -> None:
        self._client, self._table = client, table_name

    async def update(self, params: dict) -> dict:
        """Runs a transitions.py update; the returned attributes (plain values), or ConditionFailed."""
        request = dict(params, TableName=self._table,
                       Key={k: _to_dynamo(v) for k, v in params["Key"].items()},
                       ExpressionAttributeValues={k: _to_dynamo(v) for k, v in
                                                  params["ExpressionAttributeValues"].items()})
        try:
            answer = await asyncio.to_thread(self._client.update_item, **request)
        except self._client.exceptions.ConditionalCheckFailedException as error:
            old = error.response.get("Item")
            raise ConditionFailed(params["ConditionExpression"], _from_dynamo(old) if old else None) from error
        return _from_dynamo(answer.get("Attributes") or {})


class JobQueue:
    def __init__(self, client, queue_url: str) -> None:
        self._client, self._url = client, queue_url

    async def receive(self, max_messages: int, wait_seconds: int, visibility_seconds: float) -> List[dict]:
        answer = await asyncio.to_thread(
            self._client.receive_message, QueueUrl=self._url, MaxNumberOfMessages=max(1, min(max_messages, 10)),
            WaitTimeSeconds=wait_seconds, VisibilityTimeout=int(visibility_seconds))
        return answer.get("Messages") or []

    async def backlog(self) -> int:
        """Visible messages (ApproximateNumberOfMessages): jobs waiting for a GPU, the scaling signal's backlog."""
        answer = await asyncio.to_thread(self._client.get_queue_attributes, QueueUrl=self._url,
                                         AttributeNames=["ApproximateNumberOfMessages"])
        return int(answer["Attributes"]["ApproximateNumberOfMessages"])

    async def delete(self, receipt: str) -> None:
        await asyncio.to_thread(self._client.delete_message, QueueUrl=self._url, ReceiptHandle=receipt)

    async def hide(self, receipt: str, seconds: float) -> None:
        """ChangeMessageVisibility: 0 makes it visible now; more extends a running job's hold."""
        await asyncio.to_thread(self._client.change_message_visibility, QueueUrl=self._url,
                                ReceiptHandle=receipt, VisibilityTimeout=int(min(seconds, 43200)))


class OutputStore:
    def __init__(self, client, bucket: str) -> None:
        self._client, self._bucket = client, bucket

    async def upload(self, key: str, content_type: str, chunks: AsyncIterator[bytes]) -> int:
        """Streams `chunks` to s3://bucket/key: one PutObject when the file fits a part, else a multipart
        upload holding one part in memory at a time. Returns the size."""
        buffer, size, upload_id, parts = bytearray(), 0, None, []
        try:
            async for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                if len(buffer) >= PART_BYTES:
                    if upload_id is None:
                        upload_id = (await asyncio.to_thread(
                            self._client.create_multipart_upload, Bucket=self._bucket, Key=key,
                            ContentType=content_type))["UploadId"]
                    parts.append(await self._part(key, upload_id, len(parts) + 1, bytes(buffer)))
                    buffer.clear()
            if upload_id is None:
                await asyncio.to_thread(self._client.put_object, Bucket=self._bucket, Key=key,
                                        Body=bytes(buffer), ContentType=content_type)
                return size
            if buffer:
                parts.append(await self._part(key, upload_id, len(parts) + 1, bytes(buffer)))
            await asyncio.to_thread(self._client.complete_multipart_upload, Bucket=self._bucket, Key=key,
                                    UploadId=upload_id, MultipartUpload={"Parts": parts})
            return size
        except BaseException:
            if upload_id is not None:  # no orphaned parts billed until a lifecycle rule removes them
                await asyncio.shield(asyncio.to_thread(self._client.abort_multipart_upload,
                                                       Bucket=self._bucket, Key=key, UploadId=upload_id))
            raise

    async def _part(self, key: str, upload_id: str, number: int, body: bytes) -> dict:
        answer = await asyncio.to_thread(self._client.upload_part, Bucket=self._bucket, Key=key,
                                         UploadId=upload_id, PartNumber=number, Body=body)
        return {"PartNumber": number, "ETag": answer["ETag"]}
