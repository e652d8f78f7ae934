-- Extraction patterns (issue 12): per-domain, versioned selectors for the price element. One
-- active version per domain at most; earlier versions are kept for rollback and the record.
-- changed_at moves with every change, so readers (PatternStore.active) can reload cheaply.
CREATE TABLE opslib.extraction_patterns (
    id                bigserial   PRIMARY KEY,
    domain            text        NOT NULL CHECK (length(domain) BETWEEN 1 AND 253),
    version           integer     NOT NULL CHECK (version >= 1),
    kind              text        NOT NULL CHECK (kind IN ('css', 'xpath')),
    selector          text        NOT NULL CHECK (length(selector) BETWEEN 1 AND 2000),
    attribute         text,
    currency          char(3),
    decimal_separator text        CHECK (decimal_separator IN (',', '.')),
    regex             text        CHECK (length(regex) <= 500),
    confidence        real        NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    tested_accuracy   real        CHECK (tested_accuracy BETWEEN 0 AND 1),
    tested_pages      integer,
    note              text        NOT NULL DEFAULT '',
    actor             text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    active            boolean     NOT NULL DEFAULT false,
    changed_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (domain, version)
);
CREATE UNIQUE INDEX extraction_patterns_active_idx
    ON opslib.extraction_patterns (domain) WHERE active;

-- Reference pages: a domain's product pages with the price a shopper sees on them (NULL: no
-- price), gzip-compressed, that `opslib patterns verify` runs the active pattern against.
CREATE TABLE opslib.reference_pages (
    id        bigserial   PRIMARY KEY,
    domain    text        NOT NULL CHECK (length(domain) BETWEEN 1 AND 253),
    name      text        NOT NULL CHECK (length(name) BETWEEN 1 AND 2000),
    page_gz   bytea       NOT NULL,
    price     numeric(14, 2),
    currency  char(3),
    source    text        NOT NULL DEFAULT 'operator',
    actor     text        NOT NULL,
    added_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (domain, name)
);
