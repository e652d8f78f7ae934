-- The price-monitoring platform's own tables, as the runbook's SQL uses them.
-- opslib applies this set only to the lab (`opslib db migrate --platform`).
SET LOCAL search_path TO public;
CREATE TABLE monitored_urls (
    id              bigserial PRIMARY KEY,
    domain          text        NOT NULL,
    url             text        NOT NULL UNIQUE,
    product_name    text,
    priority        smallint    NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
    check_interval  interval    NOT NULL DEFAULT interval '1 hour',
    currency        char(3)     NOT NULL DEFAULT 'EUR',
    active          boolean     NOT NULL DEFAULT true,
    next_check_at   timestamptz NOT NULL DEFAULT now(),
    last_checked_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX monitored_urls_due_idx ON monitored_urls (next_check_at) WHERE active;
CREATE INDEX monitored_urls_domain_idx ON monitored_urls (domain);

CREATE TABLE price_history (
    id                    bigserial PRIMARY KEY,
    url_id                bigint      NOT NULL REFERENCES monitored_urls (id) ON DELETE CASCADE,
    price                 numeric(12, 2) CHECK (price >= 0),
    currency              char(3),
    extraction_confidence real CHECK (extraction_confidence BETWEEN 0 AND 1),
    extraction_method     text,
    checked_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX price_history_checked_at_idx ON price_history (checked_at);
CREATE INDEX price_history_url_checked_idx ON price_history (url_id, checked_at);

CREATE TABLE scrape_logs (
    id            bigserial PRIMARY KEY,
    url_id        bigint REFERENCES monitored_urls (id) ON DELETE SET NULL,
    domain        text        NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    duration_ms   integer CHECK (duration_ms >= 0),
    status_code   smallint,
    proxy         text,
    proxy_country char(2),
    worker        text,
    outcome       text        NOT NULL
        CHECK (outcome IN ('ok', 'http_error', 'timeout', 'proxy_error', 'parse_error', 'banned')),
    error         text,
    bytes         integer
);
CREATE INDEX scrape_logs_started_at_idx ON scrape_logs (started_at);
CREATE INDEX scrape_logs_proxy_idx ON scrape_logs (proxy, started_at);
