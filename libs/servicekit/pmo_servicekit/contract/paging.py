"""The one pagination contract: `limit` (default 50, at most 200), an opaque `cursor`, `Page[T]` answers.

A list answers `{"items": [...], "next_cursor": "..."}`; `next_cursor` is null on the last page. The
cursor is opaque to clients (base64url of the position's sort key); one this API did not give is a 422
naming `cursor`. Name each page model after what it lists: `class ProposalPage(Page[ProposalView])`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, get_args

from fastapi import Depends, Query
from pydantic import BaseModel, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from pmo_servicekit.problems import Problem

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_PREFIX = "c1."
T = TypeVar("T")
Row = TypeVar("Row")
#: What a cursor remembers: the sort key of the last item on the page (strings, numbers, null).
Key = Sequence[str | int | None]


#: What an example page shows as its `next_cursor` (a real one: `encode_cursor(["2027-01-01", "abc"])`).
EXAMPLE_CURSOR = "c1.WyIyMDI3LTAxLTAxIiwiYWJjIl0"


class Page(BaseModel, Generic[T]):
    """One page of a list; follow `next_cursor` for the next, null at the end.

    A page model whose only fields are `items` and `next_cursor` documents an example made of its item's
    example (`model_config` `json_schema_extra={"examples": [...]}` on the item model); a page with more
    fields (a report) gives its own.
    """

    items: list[T]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core)
        target = handler.resolve_ref_schema(schema)
        item = _item_example(cls)
        if "examples" not in target and item is not None and set(cls.model_fields) == {"items", "next_cursor"}:
            target["examples"] = [{"items": [item], "next_cursor": EXAMPLE_CURSOR}]
        return schema


def _item_example(page: type[BaseModel]) -> Any:
    """The first example of the model a page lists, if it has one."""
    (item_type,) = get_args(page.model_fields["items"].annotation) or (None,)
    if not (isinstance(item_type, type) and issubclass(item_type, BaseModel)):
        return None
    extra = item_type.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    return examples[0] if isinstance(examples, list) and examples else None


@dataclass(frozen=True)
class PageRequest:
    """What a client asked for: how many items and after which position (`None`: from the start)."""

    limit: int
    cursor: str | None

    def after(self, arity: int) -> tuple[str | int | None, ...] | None:
        """The sort key the cursor points after (`arity` values), or None on the first page."""
        return None if self.cursor is None else decode_cursor(self.cursor, arity)

    def after_id(self) -> str | None:
        """For a list in id order: the id the cursor points after, or None on the first page."""
        after = self.after(1)
        if after is None:
            return None
        if not isinstance(after[0], str):
            raise bad_cursor()
        return after[0]


async def _page_request(  # no I/O: on the event loop, not FastAPI's thread pool
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page (at most 200)")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=512, pattern=r"^[A-Za-z0-9._-]+$", description="`next_cursor` of the previous page"),
    ] = None,
) -> PageRequest:
    return PageRequest(limit, cursor)


#: The paging parameters of every list operation, as a FastAPI dependency.
Paging = Annotated[PageRequest, Depends(_page_request)]


def bad_cursor() -> Problem:
    error = {"field": "cursor", "location": "query", "message": "not a cursor this API gave", "code": "cursor"}
    return Problem(422, "validation-error", "the request is not valid: cursor", errors=[error])


def encode_cursor(key: Key) -> str:
    """The opaque cursor for a position: after the item whose sort key is `key`."""
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return _PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int | None) -> tuple[str | int | None, ...]:
    """The sort key in `cursor` (`arity` values, any number when None); a 422 naming `cursor` when it is
    not one this API gave."""
    if not cursor.startswith(_PREFIX):
        raise bad_cursor()
    body = cursor[len(_PREFIX) :]
    try:
        key = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad_cursor() from None
    if not isinstance(key, list) or (arity is not None and len(key) != arity) or not all(_scalar(v) for v in key):
        raise bad_cursor()
    return tuple(key)


def _scalar(value: Any) -> bool:
    return value is None or (isinstance(value, str | int) and not isinstance(value, bool))


def keyset_page(rows: Sequence[Row], paging: PageRequest, key: Callable[[Row], Key]) -> tuple[list[Row], str | None]:
    """Rows a query fetched with `LIMIT limit + 1` → this page and the cursor after it (None at the end)."""
    page = list(rows[: paging.limit])
    more = len(rows) > paging.limit
    return page, encode_cursor(key(page[-1])) if more and page else None


def slice_page(items: Sequence[Row], paging: PageRequest, key: Callable[[Row], Key]) -> tuple[list[Row], str | None]:
    """A page of a list already in memory (a report), in its own order; `key` must identify an item.

    The cursor holds the position and the key of the last item given: the next page starts after that
    item wherever it now is, or at the same position when it is gone (a live list changed meanwhile).
    """
    start = 0
    if paging.cursor is not None:
        position, *after = decode_cursor(paging.cursor, None) or (None,)
        if not isinstance(position, int) or position < 0:
            raise bad_cursor()
        start = next((i + 1 for i, item in enumerate(items) if list(key(item)) == after), position)
    page = list(items[start : start + paging.limit])
    end = start + len(page)
    return page, encode_cursor([end, *key(page[-1])]) if end < len(items) and page else None
