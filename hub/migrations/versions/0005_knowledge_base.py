"""knowledge_base: categories, articles, versions, feedback, search documents and full-text indexes.

SQLite gets two FTS5 tables: `kb_search_fts` (porter stemming, bm25, prefix indexes) over `kb_search_docs`,
and `kb_search_terms_tri` (trigram tokenizer) over the vocabulary for typo correction; triggers keep both in
step with their content tables. PostgreSQL gets a generated, weighted tsvector column with a GIN index and
pg_trgm indexes on the vocabulary.

Revision ID: 0005_knowledge_base
Revises: 0004_ticketing
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0005_knowledge_base"
down_revision: str | None = "0004_ticketing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> advanced_alchemy.types.DateTimeUTC:
    return advanced_alchemy.types.DateTimeUTC(timezone=True)


# Locale -> PostgreSQL text search configuration; anything else uses 'simple' (no stemming).
PG_CONFIG_CASE = (
    "CASE split_part(locale, '-', 1) "
    "WHEN 'en' THEN 'english'::regconfig WHEN 'fr' THEN 'french'::regconfig "
    "WHEN 'de' THEN 'german'::regconfig WHEN 'es' THEN 'spanish'::regconfig "
    "WHEN 'it' THEN 'italian'::regconfig WHEN 'pt' THEN 'portuguese'::regconfig "
    "WHEN 'nl' THEN 'dutch'::regconfig ELSE 'simple'::regconfig END"
)


def upgrade() -> None:
    op.create_table(
        "kb_categories",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_categories")),
        sa.UniqueConstraint("locale", "slug", name=op.f("uq_kb_categories_locale_slug")),
    )
    op.create_table(
        "kb_articles",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("category_id", Id, nullable=True),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("slug", sa.String(160), nullable=False),
        sa.Column("translation_group", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("body_md", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("published_version_id", Id, nullable=True),
        sa.Column("published_at", _ts(), nullable=True),
        sa.Column("author_id", Id, nullable=True),
        sa.Column("view_count", sa.Integer(), nullable=False),
        sa.Column("helpful_count", sa.Integer(), nullable=False),
        sa.Column("not_helpful_count", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["kb_categories.id"],
            name=op.f("fk_kb_articles_category_id_kb_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_kb_articles_author_id_users"), ondelete="SET NULL"
        ),
        sa.UniqueConstraint("locale", "slug", name=op.f("uq_kb_articles_locale_slug")),
    )
    op.create_index("ix_kb_articles_category", "kb_articles", ["category_id", "status"])
    op.create_index("ix_kb_articles_status_locale", "kb_articles", ["status", "locale"])
    op.create_table(
        "kb_article_versions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("article_id", Id, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("body_md", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("created_by_id", Id, nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_versions")),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_versions_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("article_id", "number", name=op.f("uq_kb_article_versions_article_id_number")),
    )
    op.create_table(
        "kb_votes",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("article_id", Id, nullable=False),
        sa.Column("voter", sa.String(64), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_votes")),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"], name=op.f("fk_kb_votes_article_id_kb_articles"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("article_id", "voter", name=op.f("uq_kb_votes_article_id_voter")),
    )
    op.create_table(
        "kb_deflections",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("article_id", Id, nullable=False),
        sa.Column("inbox_id", Id, nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_deflections")),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_deflections_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbox_id"], ["inboxes.id"], name=op.f("fk_kb_deflections_inbox_id_inboxes"), ondelete="SET NULL"
        ),
    )
    op.create_index("ix_kb_deflections_article", "kb_deflections", ["article_id", "created_at"])
    op.create_table(
        "kb_search_misses",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("query", sa.String(200), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", _ts(), nullable=False),
        sa.Column("last_seen_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_search_misses")),
        sa.UniqueConstraint("query", "locale", "source", name=op.f("uq_kb_search_misses_query_locale_source")),
    )
    op.create_table(
        "kb_search_docs",
        sa.Column("article_id", Id, autoincrement=False, nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("category_id", Id, nullable=True),
        sa.Column("slug", sa.String(160), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_kb_search_docs")),
    )
    op.create_index("ix_kb_search_docs_locale", "kb_search_docs", ["locale", "category_id"])
    op.create_table(
        "kb_search_terms",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("term", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_search_terms")),
        sa.UniqueConstraint("term", name=op.f("uq_kb_search_terms_term")),
    )

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE kb_search_fts USING fts5(title, description, body, "
            "content='kb_search_docs', content_rowid='article_id', "
            "tokenize='porter unicode61 remove_diacritics 2', prefix='2 3 4')"
        )
        # Titles and descriptions alone: small doclists for queries made only of very common words.
        op.execute(
            "CREATE VIRTUAL TABLE kb_search_head_fts USING fts5(title, description, "
            "content='kb_search_docs', content_rowid='article_id', "
            "tokenize='porter unicode61 remove_diacritics 2', prefix='2 3 4')"
        )
        ins = (
            "INSERT INTO kb_search_fts(rowid, title, description, body) "
            "VALUES (new.article_id, new.title, new.description, new.body); "
            "INSERT INTO kb_search_head_fts(rowid, title, description) "
            "VALUES (new.article_id, new.title, new.description);"
        )
        rem = (
            "INSERT INTO kb_search_fts(kb_search_fts, rowid, title, description, body) "
            "VALUES ('delete', old.article_id, old.title, old.description, old.body); "
            "INSERT INTO kb_search_head_fts(kb_search_head_fts, rowid, title, description) "
            "VALUES ('delete', old.article_id, old.title, old.description);"
        )
        op.execute(f"CREATE TRIGGER kb_search_docs_ai AFTER INSERT ON kb_search_docs BEGIN {ins} END")
        op.execute(f"CREATE TRIGGER kb_search_docs_ad AFTER DELETE ON kb_search_docs BEGIN {rem} END")
        op.execute(f"CREATE TRIGGER kb_search_docs_au AFTER UPDATE ON kb_search_docs BEGIN {rem} {ins} END")
        op.execute(
            "CREATE VIRTUAL TABLE kb_search_terms_tri USING fts5(term, "
            "content='kb_search_terms', content_rowid='id', tokenize='trigram')"
        )
        op.execute(
            "CREATE TRIGGER kb_search_terms_ai AFTER INSERT ON kb_search_terms BEGIN "
            "INSERT INTO kb_search_terms_tri(rowid, term) VALUES (new.id, new.term); END"
        )
        op.execute(
            "CREATE TRIGGER kb_search_terms_ad AFTER DELETE ON kb_search_terms BEGIN "
            "INSERT INTO kb_search_terms_tri(kb_search_terms_tri, rowid, term) VALUES ('delete', old.id, old.term); END"
        )
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "ALTER TABLE kb_search_docs ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
            f"setweight(to_tsvector({PG_CONFIG_CASE}, coalesce(title, '')), 'A') || "
            f"setweight(to_tsvector({PG_CONFIG_CASE}, coalesce(description, '')), 'B') || "
            f"setweight(to_tsvector({PG_CONFIG_CASE}, coalesce(body, '')), 'D')) STORED"
        )
        op.execute(
            "ALTER TABLE kb_search_docs ADD COLUMN tsv_head tsvector GENERATED ALWAYS AS ("
            f"setweight(to_tsvector({PG_CONFIG_CASE}, coalesce(title, '')), 'A') || "
            f"setweight(to_tsvector({PG_CONFIG_CASE}, coalesce(description, '')), 'B')) STORED"
        )
        # Ranking reads every candidate's tsvector: keep it in the row (compressed) rather than in TOAST.
        op.execute("ALTER TABLE kb_search_docs ALTER COLUMN tsv SET STORAGE MAIN")
        op.execute("ALTER TABLE kb_search_docs ALTER COLUMN tsv_head SET STORAGE MAIN")
        # Articles change rarely and are searched constantly: no GIN pending list for searches to scan.
        op.execute("CREATE INDEX ix_kb_search_docs_tsv ON kb_search_docs USING gin (tsv) WITH (fastupdate = off)")
        op.execute(
            "CREATE INDEX ix_kb_search_docs_tsv_head ON kb_search_docs USING gin (tsv_head) WITH (fastupdate = off)"
        )
        op.execute(
            "CREATE INDEX ix_kb_search_terms_trgm ON kb_search_terms USING gin (term gin_trgm_ops) "
            "WITH (fastupdate = off)"
        )
        op.execute('CREATE INDEX ix_kb_search_terms_c ON kb_search_terms (term COLLATE "C")')


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in (
            "kb_search_docs_ai",
            "kb_search_docs_ad",
            "kb_search_docs_au",
            "kb_search_terms_ai",
            "kb_search_terms_ad",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS kb_search_fts")
        op.execute("DROP TABLE IF EXISTS kb_search_head_fts")
        op.execute("DROP TABLE IF EXISTS kb_search_terms_tri")
    for table in (
        "kb_search_terms",
        "kb_search_docs",
        "kb_search_misses",
        "kb_deflections",
        "kb_votes",
        "kb_article_versions",
        "kb_articles",
        "kb_categories",
    ):
        op.drop_table(table)
