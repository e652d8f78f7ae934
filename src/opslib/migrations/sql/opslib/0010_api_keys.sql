-- API keys (issue 15, item 3): stored as HMAC-SHA256(pepper, key), never the key itself.
-- A key is live while it is not revoked and not expired; rotation gives the old key an
-- expiry (the overlap window) and links the new one to it. Revoked keys are kept for the
-- incident report. prefix is the key's public part, shown in listings and logs.
CREATE TABLE opslib.api_keys (
    id           bigserial   PRIMARY KEY,
    name         text        NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$'),
    prefix       text        NOT NULL UNIQUE,
    hash         bytea       NOT NULL UNIQUE,
    actor        text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,                      -- NULL: until revoked
    revoked_at   timestamptz,
    revoked_by   text,
    reason       text,
    replaces     bigint      REFERENCES opslib.api_keys (id),
    CHECK (expires_at IS NULL OR expires_at > created_at)
);
CREATE INDEX api_keys_name_idx ON opslib.api_keys (name);
