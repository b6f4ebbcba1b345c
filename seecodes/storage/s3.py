"""S3 storage (or any S3-compatible store) through boto3: presigned PUT uploads (and, as an extra, presigned POST
forms bounded in size), presigned GET downloads, one client per process, and errors an operator can act on."""
import os
import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import (BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError,
                                 PartialCredentialsError)

from ..errors import NotFound, Unavailable
from ..settings import setting
from .objects import ObjectChanged, ObjectVersion

_clients: dict = {}
_verified: dict = {}  # (pid, endpoint, bucket) -> when the bucket last answered
_lock = threading.Lock()
VERIFIED_SECONDS = 300
MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchBucket")
NO_SUCH_KEY = ("404", "NoSuchKey", "NotFound")
DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes


def client(endpoint_url: str | None):
    """boto3 clients are thread-safe but not fork-safe: one per process (keyed by pid) and endpoint."""
    cache_key = (os.getpid(), endpoint_url)
    found = _clients.get(cache_key)
    if found is None:
        with _lock:
            found = _clients.get(cache_key)
            if found is None:
                # An explicit endpoint is usually an S3-compatible server reached by IP or a plain host name,
                # which only path-style addressing reaches reliably.
                config = Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"},
                                connect_timeout=5, read_timeout=30,
                                s3={"addressing_style": "path" if endpoint_url else "auto"})
                region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
                found = boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region,
                                                       config=config)
                _clients[cache_key] = found
    return found


def forget_clients() -> None:
    """Drop cached clients and bucket checks (credentials changed; tests)."""
    _clients.clear()
    _verified.clear()


class S3Storage:
    def __init__(self, bucket: str, endpoint_url: str | None, ttl: int, max_upload_bytes: int):
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.ttl = ttl
        self.max_upload_bytes = max_upload_bytes

    @classmethod
    def from_config(cls, app) -> "S3Storage":

        return cls(app.config["S3_BUCKET"], app.config.get("S3_ENDPOINT_URL"),
                   setting("SEECODES_STORAGE_URL_TTL_SECONDS", app), setting("SEECODES_MAX_UPLOAD_BYTES", app))

    @property
    def client(self):
        return client(self.endpoint_url)

    def explain(self, error: Exception) -> str:
        """What is wrong with this store, in words that say what to fix."""
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
            return ("S3 credentials are missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
                    "or give the host an IAM role.")
        if isinstance(error, EndpointConnectionError):
            return f"The S3 endpoint{where} does not answer: check S3_ENDPOINT_URL and the network."
        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code"))
            if code in MISSING:
                return f"The S3 bucket {self.bucket!r} does not exist{where}: create it, or set S3_BUCKET."
            if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                return (f"Access to the S3 bucket {self.bucket!r}{where} is denied ({code}): check the credentials "
                        "and grant them s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject.")
            return f"Object storage is unavailable ({code})."
        return f"Object storage is unavailable ({error.__class__.__name__})."

    def unavailable(self, error: Exception) -> Unavailable:
        return Unavailable(self.explain(error), code="storage_unavailable")

    def check(self) -> str | None:
        """None when the bucket answers with these credentials, else what to fix."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as error:
            return self.explain(error)
        _verified[(os.getpid(), self.endpoint_url, self.bucket)] = time.monotonic()
        return None

    def ensure_usable(self) -> None:
        """503 storage_unavailable, with what to fix, before a run is created on a store that cannot hold it.
        A bucket that answered is trusted for a few minutes per process."""
        seen = _verified.get((os.getpid(), self.endpoint_url, self.bucket))
        if seen is not None and time.monotonic() - seen < VERIFIED_SECONDS:
            return
        problem = self.check()
        if problem:
            raise Unavailable(problem, code="storage_unavailable")

    def upload_form(self, key: str) -> dict:
        """A presigned POST whose policy S3 enforces: exactly this key, at most SEECODES_MAX_UPLOAD_BYTES."""
        try:
            return self.client.generate_presigned_post(
                self.bucket, key, Conditions=[["content-length-range", 0, self.max_upload_bytes]],
                ExpiresIn=self.ttl)
        except (ClientError, BotoCoreError) as error:
            raise self.unavailable(error)

    def upload_url(self, key: str) -> str:
        """A presigned PUT of exactly this key: what the contract's `uploads[name]` is. S3 cannot bound the size
        of a presigned PUT; start measures every input and refuses (and deletes) one over the limit."""
        try:
            return self.client.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": key},
                                                      ExpiresIn=self.ttl)
        except (ClientError, BotoCoreError) as error:
            raise self.unavailable(error)

    def download_url(self, key: str) -> str:
        try:
            return self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                      ExpiresIn=self.ttl)
        except (ClientError, BotoCoreError) as error:
            raise self.unavailable(error)

    def size(self, key: str) -> int | None:
        version = self.head(key)
        return None if version is None else version.size

    def head(self, key: str) -> ObjectVersion | None:
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _code(error) in NO_SUCH_KEY:
                return None
            raise self.unavailable(error)
        except BotoCoreError as error:
            raise self.unavailable(error)
        return ObjectVersion(int(answer["ContentLength"]), answer["ETag"])

    def read_version(self, key: str, version: ObjectVersion) -> bytes:
        """S3 checks the ETag (If-Match: 412 once the object was replaced); the body is read to at most one byte
        past the expected size and the rest of the stream is dropped."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key, IfMatch=version.etag)["Body"]
            try:
                data = body.read(version.size + 1)
            finally:
                body.close()
        except ClientError as error:
            if _code(error) in ("412", "PreconditionFailed"):
                raise ObjectChanged(key)
            if _code(error) in NO_SUCH_KEY:
                raise NotFound("No such object.", code="object_not_found")
            raise self.unavailable(error)
        except BotoCoreError as error:
            raise self.unavailable(error)
        if len(data) != version.size:
            raise ObjectChanged(key)
        return data

    def read(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if _code(error) in NO_SUCH_KEY:
                raise NotFound("No such object.", code="object_not_found")
            raise self.unavailable(error)
        except BotoCoreError as error:
            raise self.unavailable(error)

    def write(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as error:
            raise self.unavailable(error)

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as error:
            raise self.unavailable(error)

    def delete_prefix(self, prefix: str) -> int:
        removed = 0
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                found = [{"Key": item["Key"]} for item in page.get("Contents", ())]
                for start in range(0, len(found), DELETE_BATCH):
                    batch = found[start:start + DELETE_BATCH]
                    answer = self.client.delete_objects(Bucket=self.bucket,
                                                        Delete={"Objects": batch, "Quiet": True})
                    if answer.get("Errors"):
                        failed = answer["Errors"][0]
                        raise Unavailable(f"Object storage refused to delete {failed.get('Key')!r} "
                                          f"({failed.get('Code')}).", code="storage_unavailable")
                    removed += len(batch)
        except (ClientError, BotoCoreError) as error:
            raise self.unavailable(error)
        return removed


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code"))
