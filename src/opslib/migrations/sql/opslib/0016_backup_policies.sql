-- Backup retention policies stored by `opslib backup policy --set` (issue 14, item 5): the
-- newest row is in force and overrides the config file's backups.keep_* and min_count; older
-- rows are the history of who changed it when.
CREATE TABLE opslib.backup_policies (
    id                      bigserial        PRIMARY KEY,
    keep_daily              integer          NOT NULL CHECK (keep_daily BETWEEN 0 AND 3660),
    keep_weekly             integer          NOT NULL CHECK (keep_weekly BETWEEN 0 AND 520),
    keep_monthly            integer          NOT NULL CHECK (keep_monthly BETWEEN 0 AND 240),
    min_count               integer          NOT NULL CHECK (min_count BETWEEN 1 AND 10000),
    emergency_exempt_hours  double precision NOT NULL CHECK (emergency_exempt_hours >= 0),
    set_by                  text             NOT NULL,
    set_at                  timestamptz      NOT NULL DEFAULT now()
);
