-- Fencing tokens: the newest token each lock's holders have written with. A fenced write raises
-- it in the same transaction, or is refused when it is already higher (see OrderStore).
CREATE TABLE fences (
    name  VARCHAR(64) NOT NULL PRIMARY KEY,
    token BIGINT      NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The reconciler's audits, one row per item per audit, with the token that wrote it.
CREATE TABLE audits (
    id               BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    lock_name        VARCHAR(64) NOT NULL,
    token            BIGINT      NOT NULL,
    sku              VARCHAR(64) NOT NULL,
    ledger_sold      BIGINT      NOT NULL,
    ledger_available BIGINT      NOT NULL,
    store_sold       BIGINT      NOT NULL,
    drift            BIGINT      NOT NULL,
    audited_at       BIGINT      NOT NULL,
    INDEX audits_by_sku (sku, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
