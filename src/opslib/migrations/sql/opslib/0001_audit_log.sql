-- Every state-changing action opslib takes, dry runs included.
CREATE TABLE opslib.audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    action      text        NOT NULL,
    arguments   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    dry_run     boolean     NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('started', 'ok', 'failed', 'refused')),
    detail      text        NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_idx ON opslib.audit_log (at);
CREATE INDEX audit_log_action_idx ON opslib.audit_log (action, at);
