-- Maintenance windows (issue 10): while a window is open, the services and domains of its scope
-- take no new work. Empty services and domains mean everything. A window stays open until it
-- is closed; an open window past its expected end is stuck (the daily check turns red).
CREATE TABLE opslib.maintenance_windows (
    id            bigserial   PRIMARY KEY,
    reason        text        NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    actor         text        NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    expected_end  timestamptz NOT NULL,
    services      text[]      NOT NULL DEFAULT '{}',  -- sorted, unique
    domains       text[]      NOT NULL DEFAULT '{}',  -- sorted, unique, lower case
    ended_at      timestamptz,
    ended_by      text,
    CHECK (expected_end > started_at),
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
-- At most one open window per scope: two operators opening the same scope at once open one
-- window (the advisory lock of MaintenanceMode.enable serialises them; this holds regardless).
CREATE UNIQUE INDEX maintenance_windows_open_scope_idx
    ON opslib.maintenance_windows (services, domains) WHERE ended_at IS NULL;
CREATE INDEX maintenance_windows_started_idx ON opslib.maintenance_windows (started_at);
