"""Small objects by presigned GET, in threads (plan.split_downloads says why)."""
from __future__ import annotations

import http.client
import queue
import re
import shutil
import threading
import time
import urllib.error
import urllib.request

from .outcome import SyncError
from .s5cmd import S5cmd

PRESIGN_BATCH = 256
FETCH_ATTEMPTS = 5
FETCH_TIMEOUT_SECONDS = 60.0


def s3_error_code(error: urllib.error.HTTPError) -> str:
    """S3's error code (<Code>InvalidObjectState</Code>...) from the body of an error answer, or ''."""
    try:
        found = re.search(rb"<Code>([A-Za-z0-9.]{1,64})</Code>", error.read(4096))
    except (OSError, http.client.HTTPException):
        return ""
    return found.group(1).decode("ascii") if found else ""


def fetch_object(url: str, dest: str) -> tuple:
    """GETs one presigned URL into dest, retrying throttling and server errors like the AWS SDKs do.

    Returns (None, version) or (why it failed, None); never the URL in why (it carries a signature). version
    is {etag, size} of what this GET returned: one GET reads one version of the object whole, so that is what
    dest holds, even if the object was replaced after it was listed.
    """
    why = "not fetched"
    for attempt in range(FETCH_ATTEMPTS):
        if attempt:
            time.sleep(min(8.0, 0.25 * 2 ** attempt))
        try:
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response, open(dest, "wb") as out:
                shutil.copyfileobj(response, out, 1024 * 1024)
                return None, {"etag": (response.headers.get("ETag") or "").strip('"'), "size": out.tell()}
        except urllib.error.HTTPError as error:
            why = "HTTP %d %s" % (error.code, s3_error_code(error) or error.reason)
            if error.code < 500 and error.code != 429:
                return why, None  # denied, expired or gone: the next sync tries again
        except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, a connection cut short
            why = "%s: %s" % (type(error).__name__, error)
    return why, None


def fetch_presigned(s5: S5cmd, bucket: str, keys: list, dests: dict, finish) -> None:
    """Fetches keys with presigned GETs in s5.workers threads; calls finish(key, error or None, version) for each.

    URLs are signed a batch at a time, when the queue has room for it, so none waits long before its GET.
    """
    jobs = queue.Queue(maxsize=PRESIGN_BATCH)

    def work() -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            try:
                result = fetch_object(job[1], dests[job[0]])
            except Exception as error:  # noqa: BLE001 (a worker that died would leave the queue full)
                result = ("%s: %s" % (type(error).__name__, error), None)
            try:
                finish(job[0], *result)
            except Exception:  # noqa: BLE001 (the key counts as not downloaded; the workers go on)
                pass
    workers = [threading.Thread(target=work, daemon=True) for _ in range(max(1, min(s5.workers, len(keys))))]
    for worker in workers:
        worker.start()
    for start in range(0, len(keys), PRESIGN_BATCH):
        batch = keys[start:start + PRESIGN_BATCH]
        try:
            urls = s5.presign(bucket, batch)
        except SyncError as error:
            for key in batch:
                finish(key, str(error), None)
            continue
        for key in batch:
            jobs.put((key, urls[key]))
    for _ in workers:
        jobs.put(None)
    for worker in workers:
        worker.join()
