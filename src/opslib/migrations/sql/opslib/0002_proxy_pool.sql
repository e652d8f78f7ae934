-- The proxy pool shared by every scraper replica (issue 3).
-- Health counters decay in place: each update multiplies by exp(-elapsed / tau) before adding,
-- in one UPDATE, so concurrent reports from many processes never overwrite each other.
CREATE TABLE opslib.proxies (
    id                   bigserial PRIMARY KEY,
    url                  text        NOT NULL UNIQUE,  -- scheme://host:port, never credentials
    scheme               text        NOT NULL CHECK (scheme IN ('http', 'https', 'socks5')),
    host                 text        NOT NULL,
    port                 integer     NOT NULL CHECK (port BETWEEN 1 AND 65535),
    username             text,
    password             text,                          -- a secret: never selected for output
    country              text        CHECK (country ~ '^[a-z]{2}$'),
    source               text        NOT NULL DEFAULT '',
    tags                 text[]      NOT NULL DEFAULT '{}',
    state                text        NOT NULL DEFAULT 'active'
        CHECK (state IN ('active', 'reserve', 'quarantined', 'retired')),
    max_concurrency      integer     NOT NULL DEFAULT 8 CHECK (max_concurrency > 0),
    in_use               integer     NOT NULL DEFAULT 0 CHECK (in_use >= 0),
    successes            double precision NOT NULL DEFAULT 0,
    failures             double precision NOT NULL DEFAULT 0,
    latency_ms           double precision,
    decayed_at           timestamptz NOT NULL DEFAULT now(),
    requests             bigint      NOT NULL DEFAULT 0,
    consecutive_failures integer     NOT NULL DEFAULT 0,
    backoff_until        timestamptz,
    last_used_at         timestamptz,
    checked_at           timestamptz,
    check_ok             boolean,
    exit_ip              text,
    leaks                boolean,
    added_at             timestamptz NOT NULL DEFAULT now(),
    changed_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX proxies_state_idx ON opslib.proxies (state, country);

-- A proxy banned by one target domain, until the ban expires.
CREATE TABLE opslib.proxy_bans (
    proxy_id  bigint      NOT NULL REFERENCES opslib.proxies (id) ON DELETE CASCADE,
    domain    text        NOT NULL,
    until     timestamptz NOT NULL,
    reason    text        NOT NULL DEFAULT '',
    PRIMARY KEY (proxy_id, domain)
);
CREATE INDEX proxy_bans_domain_idx ON opslib.proxy_bans (domain, until);

-- Requests and bans per proxy, domain and hour: ban rates per domain over any window.
CREATE TABLE opslib.proxy_usage (
    proxy_id  bigint      NOT NULL REFERENCES opslib.proxies (id) ON DELETE CASCADE,
    domain    text        NOT NULL,
    hour      timestamptz NOT NULL,
    requests  bigint      NOT NULL DEFAULT 0,
    failures  bigint      NOT NULL DEFAULT 0,
    bans      bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (proxy_id, domain, hour)
);
CREATE INDEX proxy_usage_hour_idx ON opslib.proxy_usage (hour, domain);

-- What happened to each proxy: state changes, bans, backoffs, tests, imports.
CREATE TABLE opslib.proxy_events (
    id        bigserial   PRIMARY KEY,
    proxy_id  bigint      REFERENCES opslib.proxies (id) ON DELETE SET NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    kind      text        NOT NULL,
    domain    text,
    detail    text        NOT NULL DEFAULT ''
);
CREATE INDEX proxy_events_proxy_idx ON opslib.proxy_events (proxy_id, at);

-- Per target-domain policy: country, sticky sessions, concurrency, what counts as a ban.
CREATE TABLE opslib.proxy_policies (
    domain           text        PRIMARY KEY,
    country          text        CHECK (country ~ '^[a-z]{2}$'),
    sticky           boolean     NOT NULL DEFAULT false,
    max_concurrency  integer     CHECK (max_concurrency > 0),
    ban_statuses     integer[]   NOT NULL DEFAULT '{403,429}',
    ban_patterns     text[]      NOT NULL DEFAULT '{captcha,"are you a robot","access denied"}',
    ban_minutes      integer     NOT NULL DEFAULT 30 CHECK (ban_minutes > 0),
    changed_at       timestamptz NOT NULL DEFAULT now()
);
