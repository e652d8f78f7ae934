-- Versioned security documents (issue 15, item 6): the request rules the API enforces
-- (kind 'rules') and the security policy the suite judges against (kind 'policy'). Every set
-- adds a version; earlier ones are kept; exactly one version per kind is active (a rollback
-- moves the mark back, never deletes).
CREATE TABLE opslib.security_versions (
    kind          text        NOT NULL CHECK (kind IN ('rules', 'policy')),
    version       integer     NOT NULL CHECK (version >= 1),
    body          jsonb       NOT NULL CHECK (jsonb_typeof(body) = 'object'),
    actor         text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    active        boolean     NOT NULL DEFAULT false,
    activated_at  timestamptz,
    activated_by  text,
    PRIMARY KEY (kind, version)
);
CREATE UNIQUE INDEX security_versions_one_active_idx
    ON opslib.security_versions (kind) WHERE active;
