-- Credential rotations (issue 15, item 3): the step each rotation reached, so an interrupted
-- one is seen and resumed. No secret here: the passwords under way live in a 0600 file next to
-- the secret file. At most one unfinished rotation per target.
CREATE TABLE opslib.credential_rotations (
    id          bigserial   PRIMARY KEY,
    target      text        NOT NULL,
    step        text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE UNIQUE INDEX credential_rotations_open_idx
    ON opslib.credential_rotations (target) WHERE finished_at IS NULL;
