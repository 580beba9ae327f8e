"""The jobs backend in moto, made from the contract: the Python twin of test/helpers/jobs-backend.ts (table
with pk and the byOwner index, its stream, the queue and its dead-letter queue, the outputs bucket), and jobs
put as the API puts them (job item, then the message)."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Optional

import boto3
from boto3.dynamodb.types import TypeDeserializer

from job_runner.contract import CONTRACT_PATH, load_contract

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION}
_deserialize = TypeDeserializer().deserialize


@dataclass
class Backend:
    endpoint: str
    table: str
    queue_url: str
    dlq_url: str
    bucket: str
    _clients: dict = field(default_factory=dict, repr=False)

    def client(self, service: str):
        """One client per service (creating one takes tens of milliseconds; the benchmark times around them)."""
        if service not in self._clients:
            self._clients[service] = boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                                                  aws_access_key_id="testing", aws_secret_access_key="testing")
        return self._clients[service]

    def runner_env(self) -> dict:
        return {"AWS_ENDPOINT_URL": self.endpoint, **CREDENTIALS, "JOBS_QUEUE_URL": self.queue_url,
                "JOBS_TABLE_NAME": self.table, "OUTPUTS_BUCKET_NAME": self.bucket}

    def put_job(self, workflow: dict, owner: str = "alice", job_id: Optional[str] = None,
                send: bool = True) -> str:
        contract = load_contract()
        job_id = job_id or uuid.uuid4().hex
        now = int(time.time() * 1000)
        self.client("dynamodb").put_item(TableName=self.table, Item={
            contract.partition_key: {"S": contract.job_key(job_id)}, "id": {"S": job_id},
            "owner": {"S": owner}, "status": {"S": contract.status.pending}, "attempt": {"N": "0"},
            "create_time": {"N": str(now)}, "update_time": {"N": str(now)},
            "workflow_json": {"S": json.dumps(workflow)}},
            ConditionExpression="attribute_not_exists(pk)")
        if send:
            self.send(job_id)
        return job_id

    def put_jobs(self, workflows, owner: str = "alice") -> list:
        """Many jobs as the API writes them (items, then messages), in batches: for the burst test."""
        contract = load_contract()
        now = int(time.time() * 1000)
        ids = [uuid.uuid4().hex for _ in workflows]
        items = [{"PutRequest": {"Item": {
            contract.partition_key: {"S": contract.job_key(job_id)}, "id": {"S": job_id},
            "owner": {"S": owner}, "status": {"S": contract.status.pending}, "attempt": {"N": "0"},
            "create_time": {"N": str(now + i)}, "update_time": {"N": str(now)},
            "workflow_json": {"S": json.dumps(workflow)}}}} for i, (job_id, workflow) in enumerate(zip(ids, workflows))]
        dynamodb, sqs = self.client("dynamodb"), self.client("sqs")
        for start in range(0, len(items), 25):  # BatchWriteItem takes at most 25
            pending = {self.table: items[start:start + 25]}
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        for start in range(0, len(ids), 10):  # SendMessageBatch takes at most 10
            entries = [{"Id": str(n), "MessageBody": json.dumps({contract.job_id_field: job_id})}
                       for n, job_id in enumerate(ids[start:start + 10])]
            assert not sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries).get("Failed")
        return ids

    def all_jobs(self) -> list:
        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True)
        return [{k: _deserialize(v) for k, v in item.items()} for page in pages for item in page["Items"]]

    def send(self, job_id: str) -> None:
        self.client("sqs").send_message(QueueUrl=self.queue_url,
                                        MessageBody=json.dumps({load_contract().job_id_field: job_id}))

    def job(self, job_id: str) -> dict:
        contract = load_contract()
        item = self.client("dynamodb").get_item(
            TableName=self.table, ConsistentRead=True,
            Key={contract.partition_key: {"S": contract.job_key(job_id)}}).get("Item", {})
        return {k: _deserialize(v) for k, v in item.items()}

    def update(self, job_id: str, expression: str, values: dict, names: Optional[dict] = None) -> None:
        contract = load_contract()
        extra = {"ExpressionAttributeNames": names} if names else {}
        self.client("dynamodb").update_item(
            TableName=self.table, Key={contract.partition_key: {"S": contract.job_key(job_id)}},
            UpdateExpression=expression, ExpressionAttributeValues=values, **extra)

    def request_cancel(self, job_id: str) -> None:
        """What the API's cancel does to an in_progress job."""
        self.update(job_id, "SET cancel_requested = :t", {":t": {"BOOL": True}})

    def object(self, key: str):
        return self.client("s3").get_object(Bucket=self.bucket, Key=key)

    def messages_in_flight(self) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages",
                                                     "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def create_backend(endpoint: str, visibility_seconds: int = 5) -> Backend:
    contract = load_contract()
    suffix = uuid.uuid4().hex[:8]
    backend = Backend(endpoint, f"jobs-{suffix}", "", "", f"outputs-{suffix}")
    with open(CONTRACT_PATH) as handle:
        index = json.load(handle)["table"]  # the index names only TypeScript needs
    backend.client("dynamodb").create_table(
        TableName=backend.table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": contract.partition_key, "AttributeType": "S"},
                              {"AttributeName": index["ownerIndexPartitionKey"], "AttributeType": "S"},
                              {"AttributeName": index["ownerIndexSortKey"], "AttributeType": "N"}],
        KeySchema=[{"AttributeName": contract.partition_key, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": index["ownerIndexName"], "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": index["ownerIndexPartitionKey"], "KeyType": "HASH"},
                                               {"AttributeName": index["ownerIndexSortKey"], "KeyType": "RANGE"}]}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    sqs = backend.client("sqs")
    backend.dlq_url = sqs.create_queue(QueueName=f"jobs-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=backend.dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    backend.queue_url = sqs.create_queue(QueueName=f"jobs-{suffix}", Attributes={
        "VisibilityTimeout": str(visibility_seconds),
        # docs/jobs.md: the dead-letter handler fails a job after 5 receives.
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})})["QueueUrl"]
    backend.client("s3").create_bucket(Bucket=backend.bucket)
    return backend
