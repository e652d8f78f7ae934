-- Security incidents (issue 15, item 5): opened explicitly or by the first security action
-- (block, key revoke, credential rotation); the report collects the audit log, blocks and keys
-- of its time span. At most one open incident.
CREATE TABLE opslib.incidents (
    id          bigserial   PRIMARY KEY,
    title       text        NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    opened_by   text        NOT NULL,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz,
    followups   text[]      NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX incidents_one_open_idx ON opslib.incidents ((true)) WHERE closed_at IS NULL;
