-- Per-domain controls every scraper replica obeys (issue 11): rate limits, cooldown and pause,
-- versioned scraping strategies.

-- Rate limits (GCRA). rate/burst NULL: the configured default (ratelimit.default_rate and
-- default_burst), so a domain never runs without a limit. tat is the theoretical arrival time
-- of the last permit handed out, in epoch seconds of the database's clock: replicas reserve
-- permits in batches with one UPDATE that advances it. leases holds the concurrency leases in
-- use, {lease id: expiry in epoch seconds}; an expired lease (a crashed holder) is dropped by
-- the next acquire.
CREATE TABLE opslib.rate_limits (
    domain         text             PRIMARY KEY CHECK (domain = lower(domain) AND domain <> ''),
    rate           double precision CHECK (rate > 0),          -- permits per second
    burst          integer          CHECK (burst >= 1),
    concurrency    integer          CHECK (concurrency >= 1),  -- NULL: no concurrency limit
    tat            double precision NOT NULL DEFAULT 0,
    blocked_until  timestamptz,                                -- the latest Retry-After
    blocked_reason text,
    leases         jsonb            NOT NULL DEFAULT '{}',
    changed_at     timestamptz      NOT NULL DEFAULT now(),
    changed_by     text,
    CHECK ((rate IS NULL) = (burst IS NULL))
);

-- Cooldown and pause: while cooling_until lies ahead or paused is set, scrapers request nothing
-- from the domain. A cooldown ends by itself; last_ended is when the last one ended or was
-- lifted (auto-cooldown judges only requests made after it).
CREATE TABLE opslib.domain_state (
    domain         text        PRIMARY KEY CHECK (domain = lower(domain) AND domain <> ''),
    cooling_until  timestamptz,
    paused         boolean     NOT NULL DEFAULT false,
    reason         text        NOT NULL DEFAULT '',
    actor          text        NOT NULL DEFAULT '',
    auto           boolean     NOT NULL DEFAULT false,          -- started by auto-cooldown
    last_ended     timestamptz,
    changed_at     timestamptz NOT NULL DEFAULT now()
);

-- Scraping strategies: every version kept, one active per domain.
CREATE TABLE opslib.strategies (
    domain      text        NOT NULL CHECK (domain = lower(domain) AND domain <> ''),
    version     integer     NOT NULL CHECK (version >= 1),
    body        jsonb       NOT NULL,
    active      boolean     NOT NULL DEFAULT false,
    actor       text        NOT NULL,
    note        text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, version)
);
CREATE UNIQUE INDEX strategies_active_idx ON opslib.strategies (domain) WHERE active;
