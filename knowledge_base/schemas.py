"""msgspec structs at the API's edges; constraints here become readable 400s before anything is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

Locale = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", max_length=16, description="e.g. en, fr, pt-BR")
]
Slug = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=160, description="lowercase-with-hyphens")
]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=500)]
Body = Annotated[str, msgspec.Meta(max_length=200_000)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
Position = Annotated[int, msgspec.Meta(ge=-1_000_000, le=1_000_000)]


class CategoryIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    slug: Slug | None = None
    locale: Locale = "en"
    description: Description = ""
    position: Position = 0


class CategoryPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    slug: Slug | msgspec.UnsetType = msgspec.UNSET
    locale: Locale | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    position: Position | msgspec.UnsetType = msgspec.UNSET


class CategoryOut(msgspec.Struct):
    id: int
    locale: str
    slug: str
    name: str
    description: str
    position: int
    published_articles: int = 0
    public_url: str = ""


class ArticleIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    body_md: Body = ""
    description: Description = ""
    locale: Locale = "en"
    slug: Slug | None = None
    category_id: Id | None = None
    translation_group: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    position: Position = 0
    publish: bool = False


class ArticlePatch(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    body_md: Body | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    locale: Locale | msgspec.UnsetType = msgspec.UNSET
    slug: Slug | msgspec.UnsetType = msgspec.UNSET
    category_id: int | msgspec.UnsetType | None = msgspec.UNSET
    translation_group: Annotated[str, msgspec.Meta(max_length=64)] | msgspec.UnsetType | None = msgspec.UNSET
    position: Position | msgspec.UnsetType = msgspec.UNSET


class ArticleOut(msgspec.Struct):
    id: int
    locale: str
    slug: str
    title: str
    description: str
    body_md: str
    status: str
    category_id: int | None
    translation_group: str | None
    position: int
    published_version: int | None
    published_at: datetime | None
    has_unpublished_changes: bool
    view_count: int
    helpful_count: int
    not_helpful_count: int
    public_url: str | None
    created_at: datetime
    updated_at: datetime


class ArticleList(msgspec.Struct):
    items: list[ArticleOut]
    next_cursor: int | None


class VersionOut(msgspec.Struct):
    number: int
    title: str
    description: str
    body_md: str
    body_html: str
    created_at: datetime
    created_by_id: int | None


class SearchResultOut(msgspec.Struct):
    article_id: int
    title: str
    slug: str
    locale: str
    category_id: int | None
    snippet: str
    url: str


class SearchOut(msgspec.Struct):
    query: str
    locale: str
    results: list[SearchResultOut]


class MissOut(msgspec.Struct):
    query: str
    locale: str
    source: str
    count: int
    first_seen_at: datetime
    last_seen_at: datetime
