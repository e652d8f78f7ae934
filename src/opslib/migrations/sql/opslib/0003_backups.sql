-- The backup catalogue: one row per backup opslib started, kept consistent with the directory.
CREATE TABLE opslib.backups (
    name                text PRIMARY KEY,
    kind                text        NOT NULL CHECK (kind IN ('regular', 'emergency')),
    state               text        NOT NULL
        CHECK (state IN ('creating', 'complete', 'failed', 'deleted')),
    backup_dir          text        NOT NULL,
    started_at          timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz,
    database_name       text,
    server_version      text,
    dump_bytes          bigint,
    dump_sha256         text,
    config_bytes        bigint,
    config_sha256       text,
    manifest_sha256     text,
    row_counts          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    newest_checked_at   timestamptz,
    verification        text        NOT NULL DEFAULT 'unverified'
        CHECK (verification IN ('unverified', 'ok', 'failed')),
    verified_at         timestamptz,
    verification_detail text        NOT NULL DEFAULT '',
    detail              text        NOT NULL DEFAULT '',
    deleted_at          timestamptz
);
CREATE INDEX backups_state_created_idx ON opslib.backups (state, created_at);
