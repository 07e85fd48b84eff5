-- Fencing tokens: the newest token each lock's holders have written with. A fenced write raises
-- it in the same transaction, or is refused when it is already higher (see OrderStore).
CREATE TABLE fences (
    name  TEXT    NOT NULL PRIMARY KEY,
    token INTEGER NOT NULL
);

-- The reconciler's audits, one row per item per audit, with the token that wrote it.
CREATE TABLE audits (
    id               INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    lock_name        TEXT    NOT NULL,
    token            INTEGER NOT NULL,
    sku              TEXT    NOT NULL,
    ledger_sold      INTEGER NOT NULL,
    ledger_available INTEGER NOT NULL,
    store_sold       INTEGER NOT NULL,
    drift            INTEGER NOT NULL,
    audited_at       INTEGER NOT NULL
);

CREATE INDEX audits_by_sku ON audits (sku, id);
