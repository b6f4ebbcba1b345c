"""The one clock of the service: naive UTC datetimes in storage, ISO-8601 and epoch on the wire."""
import calendar
from datetime import datetime, timedelta, timezone

_offset = timedelta(0)  # tests shift time with travel(); production never touches it


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None) + _offset


def travel(delta: timedelta) -> None:
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)


def epoch(moment: datetime) -> int:
    return calendar.timegm(moment.utctimetuple())


def epoch_ms(moment: datetime) -> int:
    return calendar.timegm(moment.utctimetuple()) * 1000 + moment.microsecond // 1000


def from_epoch_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, timezone.utc).replace(tzinfo=None)


def iso(moment: datetime | None, micro: bool = False) -> str | None:
    if moment is None:
        return None
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_utc_naive(moment: datetime) -> datetime:
    """Normalise an aware or naive datetime from a client to naive UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment
