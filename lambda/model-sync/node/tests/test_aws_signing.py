"""model_sync/aws.py: its SigV4 signatures are the ones botocore computes, and credentials come from the
environment or from IMDSv2 (a fake on loopback)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from conftest import FakeImds
from model_sync import aws

NOW = datetime(2026, 11, 30, 12, 34, 56, tzinfo=timezone.utc)
KEYS = {"key": "AKIDEXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token": "session-token"}


def botocore_authorization(method, url, headers, body, service, region, payload_hash=""):
    request = botocore.awsrequest.AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    request.context["timestamp"] = NOW.strftime("%Y%m%dT%H%M%SZ")
    request.headers["X-Amz-Date"] = request.context["timestamp"]
    auth_class = botocore.auth.S3SigV4Auth if service == "s3" else botocore.auth.SigV4Auth
    auth = auth_class(botocore.credentials.Credentials(KEYS["key"], KEYS["secret"], KEYS["token"]), service, region)
    request.headers["X-Amz-Security-Token"] = KEYS["token"]
    if service == "s3":
        request.headers["X-Amz-Content-SHA256"] = payload_hash
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    return signature, auth.signed_headers(auth.headers_to_sign(request))


@pytest.mark.parametrize("key", ["checkpoints/sd xl.safetensors", "loras/glob*?[1] 日本 +=&.pt", "vae/a%b.pt"])
def test_a_head_of_any_key_is_signed_as_botocore_signs_it(key):
    url = aws.s3_object_url("", "us-west-2", "models", key)
    headers = aws.sign("HEAD", url, {}, b"", "s3", "us-west-2", KEYS, now=NOW)
    signature, names = botocore_authorization("HEAD", url, {}, b"", "s3", "us-west-2",
                                              headers["x-amz-content-sha256"])
    assert headers["Authorization"].endswith("SignedHeaders=%s, Signature=%s" % (names, signature))
    assert headers["x-amz-security-token"] == "session-token"


def test_a_json_api_call_is_signed_as_botocore_signs_it():
    body = json.dumps({"logGroupName": "/comfyui/c/model-sync", "logStreamName": "s"}).encode()
    extra = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.CreateLogStream"}
    url = "https://logs.us-west-2.amazonaws.com/"
    headers = aws.sign("POST", url, extra, body, "logs", "us-west-2", KEYS, now=NOW)
    signature, names = botocore_authorization("POST", url, extra, body, "logs", "us-west-2")
    assert headers["Authorization"].endswith("SignedHeaders=%s, Signature=%s" % (names, signature))


def test_urls_are_virtual_hosted_on_aws_and_path_style_for_an_endpoint_or_a_dotted_bucket():
    assert aws.s3_object_url("", "eu-west-1", "models", "a b/c.pt") == \
        "https://models.s3.eu-west-1.amazonaws.com/a%20b/c.pt"
    assert aws.s3_object_url("", "eu-west-1", "my.models", "c.pt") == "https://s3.eu-west-1.amazonaws.com/my.models/c.pt"
    assert aws.s3_object_url("http://127.0.0.1:9000/", "x", "models", "c.pt") == "http://127.0.0.1:9000/models/c.pt"


def test_without_keys_in_the_environment_the_instance_profile_answers_through_imdsv2(monkeypatch):
    imds = FakeImds()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(aws.IMDS_ENDPOINT_VARIABLE, imds.url)
    credentials = aws.Credentials()
    got = credentials.get()
    assert (got["key"], got["secret"], got["token"]) == ("ASIA1", "s", "t")
    credentials.get()  # cached until close to its expiry
    assert imds.calls == [("PUT", "/latest/api/token"), ("GET", "/latest/meta-data/iam/security-credentials/"),
                          ("PUT", "/latest/api/token"), ("GET", "/latest/meta-data/iam/security-credentials/node-role")]
    imds.server.shutdown()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    assert credentials.get()["key"] == "from-env"
