-- Maintenance procedure runs (issue 10, items 3 and 4): one row per `opslib maintenance run` or
-- `emergency`, with the state of each step, so a run that failed or was killed is described
-- truly and `--resume` continues where it stopped. A run that says `running` while nobody holds
-- its advisory lock was killed. At most one unfinished run (running or failed) at a time.
CREATE TABLE opslib.procedure_runs (
    id           bigserial   PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('scheduled', 'emergency')),
    state        text        NOT NULL CHECK (state IN ('running', 'failed', 'completed', 'abandoned')),
    actor        text        NOT NULL,
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    plan         jsonb       NOT NULL,                 -- the steps and their options, in order
    steps        jsonb       NOT NULL DEFAULT '{}',    -- name -> {state, started_at, ended_at, detail}
    facts        jsonb       NOT NULL DEFAULT '{}',    -- what steps hand on (backup, containers)
    current_step text,
    message      text        NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz
);
CREATE UNIQUE INDEX procedure_runs_one_unfinished_idx
    ON opslib.procedure_runs ((true)) WHERE state IN ('running', 'failed');
CREATE INDEX procedure_runs_started_idx ON opslib.procedure_runs (started_at);
