-- Acknowledged orders that can never be stored in orders (their item is not there), kept so that
-- the order reads back FAILED and its key stays spent. No foreign key: that is the point.
CREATE TABLE failed_orders (
    order_id        VARCHAR(64) NOT NULL PRIMARY KEY,
    sku             VARCHAR(64) NOT NULL,
    idempotency_key VARCHAR(64) NOT NULL,
    user_id         VARCHAR(64) NOT NULL,
    quantity        INTEGER     NOT NULL,
    created_at      BIGINT      NOT NULL,
    request_id      VARCHAR(64) NULL,
    reason          VARCHAR(64) NOT NULL,
    failed_at       BIGINT      NOT NULL,
    CONSTRAINT failed_orders_sku_key UNIQUE (sku, idempotency_key)
);

CREATE INDEX failed_orders_by_user ON failed_orders (user_id, created_at, order_id);
