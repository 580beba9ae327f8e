"""Signed AWS API calls with the standard library (the node's python has no SDK): the credentials s5cmd uses
(the environment, else the instance profile through IMDSv2) and Signature Version 4.

Used for what s5cmd cannot do: a HEAD of one key (a fresh ETag after a download; s5cmd's presign cannot
sign '*' or '?' and signs GETs only) and the boot sync's CloudWatch Logs report.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

# The SDKs' setting for where IMDS answers (tests point it at a fake).
IMDS_ENDPOINT_VARIABLE = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
TIMEOUT_SECONDS = 30.0
# Instance-profile credentials rotate; AWS's SDKs refresh them well before they expire.
REFRESH_BEFORE_EXPIRY_SECONDS = 300


class AwsError(Exception):
    """A call that failed: status is the HTTP status (0 when no answer came), code AWS's error code."""

    def __init__(self, message: str, status: int = 0, code: str = ""):
        super().__init__(message)
        self.status, self.code = status, code


def imds_get(path: str) -> str:
    """GETs an IMDSv2 path (a session token first, as the node requires)."""
    imds = os.environ.get(IMDS_ENDPOINT_VARIABLE, "http://169.254.169.254").rstrip("/")
    token_request = urllib.request.Request(imds + "/latest/api/token", method="PUT",
                                           headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    with urllib.request.urlopen(token_request, timeout=TIMEOUT_SECONDS) as response:
        token = response.read().decode()
    request = urllib.request.Request(imds + path, headers={"X-aws-ec2-metadata-token": token})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        return response.read().decode()


def imds_credentials() -> dict:
    """The instance profile's credentials."""
    role = imds_get("/latest/meta-data/iam/security-credentials/").split("\n")[0]
    found = json.loads(imds_get("/latest/meta-data/iam/security-credentials/" + role))
    expires = datetime.strptime(found["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    return {"key": found["AccessKeyId"], "secret": found["SecretAccessKey"], "token": found.get("Token", ""),
            "expires": expires}


class Credentials:
    """The environment's keys (tests, or a user's shell), else the instance profile's, refreshed when due."""

    def __init__(self):
        self._lock = threading.Lock()
        self._current: dict | None = None

    def get(self) -> dict:
        with self._lock:
            if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
                return {"key": os.environ["AWS_ACCESS_KEY_ID"], "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
                        "token": os.environ.get("AWS_SESSION_TOKEN", "")}
            if self._current is None or self._current["expires"] - time.time() < REFRESH_BEFORE_EXPIRY_SECONDS:
                try:
                    self._current = imds_credentials()
                except (OSError, ValueError, KeyError, http.client.HTTPException) as error:
                    raise AwsError("no AWS credentials: none in the environment, and IMDS answered %s" % error)
            return self._current


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def sign(method: str, url: str, headers: dict, body: bytes, service: str, region: str, credentials: dict,
         now: datetime | None = None, payload_hash: str = "") -> dict:
    """The headers that sign this request with SigV4 (x-amz-date, the session token, Authorization), added
    to a copy of headers. url must be quoted as it will be sent; S3 wants its path encoded once, as sent."""
    now = now or datetime.now(timezone.utc)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    parts = urllib.parse.urlsplit(url)
    payload_hash = payload_hash or hashlib.sha256(body).hexdigest()
    signed = dict(headers, host=parts.netloc, **{"x-amz-date": stamp})
    if service == "s3":
        signed["x-amz-content-sha256"] = payload_hash
    if credentials.get("token"):
        signed["x-amz-security-token"] = credentials["token"]
    canonical = {k.lower(): " ".join(str(v).split()) for k, v in signed.items()}
    names = ";".join(sorted(canonical))
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    request = "\n".join([method, parts.path or "/", query, "".join("%s:%s\n" % (k, canonical[k]) for k in sorted(canonical)),
                         names, payload_hash])
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(request.encode("utf-8")).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + credentials["secret"]).encode("utf-8"), day), region), service),
                "aws4_request")
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    signed["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        credentials["key"], scope, names, signature)
    signed.pop("host")
    return signed


def call(method: str, url: str, service: str, region: str, credentials: Credentials, body: bytes = b"",
         headers: dict | None = None) -> tuple:
    """Sends one signed request; returns (status, headers, body). Raises AwsError with AWS's error code for
    an error answer, or with status 0 when none came."""
    signed = sign(method, url, headers or {}, body, service, region, credentials.get())
    request = urllib.request.Request(url, data=body if method in ("POST", "PUT") else None, method=method,
                                     headers=signed)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        answer = error.read(4096)
        code = error.headers.get("x-amzn-ErrorType", "").split(":")[0]
        if not code:
            try:
                code = json.loads(answer).get("__type", "").split("#")[-1]
            except ValueError:
                found = answer.split(b"<Code>", 1)[-1].split(b"</Code>", 1)[0] if b"<Code>" in answer else b""
                code = found.decode("utf-8", "replace")
        raise AwsError("%s %s: HTTP %d %s" % (method, service, error.code, code or error.reason), error.code, code)
    except (OSError, http.client.HTTPException) as error:
        raise AwsError("%s %s: %s: %s" % (method, service, type(error).__name__, error))


def s3_object_url(endpoint: str, region: str, bucket: str, key: str) -> str:
    """Path-style with a custom endpoint (tests, S3-compatible servers), virtual-hosted on AWS (path-style
    only for a bucket name with dots, which a virtual host's TLS certificate would not cover)."""
    path = "/" + urllib.parse.quote(key, safe="/~")
    if endpoint:
        return endpoint.rstrip("/") + "/" + bucket + path
    if "." in bucket:
        return "https://s3.%s.amazonaws.com/%s%s" % (region, bucket, path)
    return "https://%s.s3.%s.amazonaws.com%s" % (bucket, region, path)


def head_object(endpoint: str, region: str, credentials: Credentials, bucket: str, key: str) -> dict | None:
    """{etag, size} of the object at key now (ETag without quotes, as s5cmd lists it), or None when it is gone."""
    try:
        _status, headers, _body = call("HEAD", s3_object_url(endpoint, region, bucket, key), "s3", region,
                                       credentials)
    except AwsError as error:
        if error.status == 404:
            return None
        raise
    lower = {k.lower(): v for k, v in headers.items()}
    return {"etag": lower.get("etag", "").strip('"'), "size": int(lower.get("content-length", "0"))}
