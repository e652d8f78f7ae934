-- The blocklist (issue 15): addresses and networks the API refuses, with why, who and until
-- when. An entry is active while it is not removed and not expired; removed entries are kept
-- for the incident report. At most one unremoved entry per network (blocking it again moves
-- its expiry and reason). changed_at moves with every change, so readers (is_blocked) can
-- tell cheaply whether to reload.
CREATE TABLE opslib.blocklist (
    id          bigserial   PRIMARY KEY,
    network     cidr        NOT NULL,
    reason      text        NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    actor       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz,                      -- NULL: until unblocked
    removed_at  timestamptz,
    removed_by  text,
    CHECK (expires_at IS NULL OR expires_at > created_at),
    CHECK (removed_at IS NULL OR removed_at >= created_at)
);
CREATE UNIQUE INDEX blocklist_unremoved_network_idx
    ON opslib.blocklist (network) WHERE removed_at IS NULL;
CREATE INDEX blocklist_unremoved_gist_idx
    ON opslib.blocklist USING gist (network inet_ops) WHERE removed_at IS NULL;
CREATE INDEX blocklist_changed_idx ON opslib.blocklist (changed_at);
