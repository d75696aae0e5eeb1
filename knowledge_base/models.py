"""Knowledge-base tables: categories, articles with a draft and published versions, feedback and search.

An article row holds the *draft* (what managers edit); every publish freezes a numbered
`KbArticleVersion` whose rendered HTML the help center shows. Search reads `kb_search_docs`, one row per
published article, which the database's own full-text index (FTS5 or tsvector, created by the migration)
and Meilisearch are fed from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, BigId, IdMixin, TimestampMixin, utcnow

ARTICLE_STATUSES = ("draft", "published")


class KbCategory(IdMixin, TimestampMixin, Base):
    __tablename__ = "kb_categories"
    __table_args__ = (UniqueConstraint("locale", "slug"),)

    locale: Mapped[str] = mapped_column(String(16), nullable=False, default="en")
    slug: Mapped[str] = mapped_column(String(120), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class KbArticle(IdMixin, TimestampMixin, Base):
    __tablename__ = "kb_articles"
    __table_args__ = (
        UniqueConstraint("locale", "slug"),
        Index("ix_kb_articles_category", "category_id", "status"),
        Index("ix_kb_articles_status_locale", "status", "locale"),
    )

    category_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("kb_categories.id", ondelete="SET NULL"), nullable=True
    )
    locale: Mapped[str] = mapped_column(String(16), nullable=False, default="en")
    slug: Mapped[str] = mapped_column(String(160), nullable=False)
    # Articles that are translations of each other share a group key (for hreflang links).
    translation_group: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    # The draft, edited freely; the public never sees it until it is published.
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    body_md: Mapped[str] = mapped_column(Text, nullable=False, default="")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    published_version_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)
    author_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    view_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    helpful_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    not_helpful_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class KbArticleVersion(IdMixin, Base):
    """A frozen, published state of an article; the newest one published is what readers get."""

    __tablename__ = "kb_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "number"),)

    article_id: Mapped[int] = mapped_column(BigId, ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    body_md: Mapped[str] = mapped_column(Text, nullable=False, default="")
    body_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    body_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)


class KbVote(IdMixin, Base):
    """One vote per reader per article (readers are told apart by an anonymous cookie, hashed)."""

    __tablename__ = "kb_votes"
    __table_args__ = (UniqueConstraint("article_id", "voter"),)

    article_id: Mapped[int] = mapped_column(BigId, ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False)
    voter: Mapped[str] = mapped_column(String(64), nullable=False)
    helpful: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)


class KbDeflection(IdMixin, Base):
    """A customer opened a suggested article from the chat widget instead of (or before) writing to us."""

    __tablename__ = "kb_deflections"
    __table_args__ = (Index("ix_kb_deflections_article", "article_id", "created_at"),)

    article_id: Mapped[int] = mapped_column(BigId, ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False)
    inbox_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("inboxes.id", ondelete="SET NULL"), nullable=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="widget")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)


class KbSearchMiss(IdMixin, Base):
    """A search that found nothing, counted per normalised query: what the knowledge base is missing."""

    __tablename__ = "kb_search_misses"
    __table_args__ = (UniqueConstraint("query", "locale", "source"),)

    query: Mapped[str] = mapped_column(String(200), nullable=False)
    locale: Mapped[str] = mapped_column(String(16), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)


class KbSearchDoc(Base):
    """What search sees of a published article: plain text, one row per article (the FTS content table)."""

    __tablename__ = "kb_search_docs"
    __table_args__ = (Index("ix_kb_search_docs_locale", "locale", "category_id"),)

    article_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    locale: Mapped[str] = mapped_column(String(16), nullable=False)
    category_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    slug: Mapped[str] = mapped_column(String(160), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")


class KbSearchTerm(IdMixin, Base):
    """Every word seen in published articles: the vocabulary typo correction picks candidates from."""

    __tablename__ = "kb_search_terms"

    term: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
