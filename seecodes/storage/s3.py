"""S3 storage (or any S3-compatible store) through boto3: presigned PUT/GET, one client per process."""
import os
import threading

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import NotFound, Unavailable

_clients: dict = {}
_lock = threading.Lock()


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


def _unavailable(error: Exception) -> Unavailable:
    return Unavailable(f"Object storage is unavailable ({error.__class__.__name__}).", code="storage_unavailable")


class S3Storage:
    def __init__(self, bucket: str, endpoint_url: str | None, ttl: int):
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.ttl = ttl

    @classmethod
    def from_config(cls, app) -> "S3Storage":
        from ..runs.settings import setting

        return cls(app.config["S3_BUCKET"], app.config.get("S3_ENDPOINT_URL"),
                   setting("SEECODES_STORAGE_URL_TTL_SECONDS", app))

    @property
    def client(self):
        return client(self.endpoint_url)

    def upload_url(self, key: str) -> str:
        return self.client.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": key},
                                                  ExpiresIn=self.ttl)

    def download_url(self, key: str) -> str:
        return self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                  ExpiresIn=self.ttl)

    def size(self, key: str) -> int | None:
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise _unavailable(error)
        except BotoCoreError as error:
            raise _unavailable(error)

    def read(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise NotFound("No such object.", code="object_not_found")
            raise _unavailable(error)
        except BotoCoreError as error:
            raise _unavailable(error)

    def write(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(error)
