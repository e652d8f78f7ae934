-- Price-element models (issue 12, item 6): trained model files, versioned; one active at most
-- (none: the model shipped in the package). Earlier versions are kept for rollback.
CREATE TABLE opslib.extraction_models (
    id          bigserial   PRIMARY KEY,
    version     integer     NOT NULL UNIQUE CHECK (version >= 1),
    model_gz    bytea       NOT NULL,
    sha256      text        NOT NULL,
    bytes       integer     NOT NULL CHECK (bytes BETWEEN 1 AND 5242880),
    note        text        NOT NULL DEFAULT '',
    actor       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    active      boolean     NOT NULL DEFAULT false,
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX extraction_models_active_idx ON opslib.extraction_models ((true)) WHERE active;
