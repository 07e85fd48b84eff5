-- PostgreSQL. Times are epoch milliseconds (UTC) in every dialect.
CREATE TABLE items (
    sku            VARCHAR(64)  NOT NULL PRIMARY KEY,
    name           VARCHAR(200) NOT NULL,
    stock          BIGINT       NOT NULL,
    per_user_limit INTEGER      NOT NULL,
    starts_at      BIGINT       NULL,
    ends_at        BIGINT       NULL,
    created_at     BIGINT       NOT NULL,
    updated_at     BIGINT       NOT NULL
);

CREATE TABLE orders (
    order_id        VARCHAR(64) NOT NULL PRIMARY KEY,
    sku             VARCHAR(64) NOT NULL REFERENCES items (sku),
    idempotency_key VARCHAR(64) NOT NULL,
    user_id         VARCHAR(64) NOT NULL,
    quantity        INTEGER     NOT NULL,
    status          VARCHAR(16) NOT NULL,
    created_at      BIGINT      NOT NULL,
    request_id      VARCHAR(64) NULL,
    cancelled_at    BIGINT      NULL,
    CONSTRAINT orders_sku_key UNIQUE (sku, idempotency_key)
);

CREATE INDEX orders_by_user ON orders (user_id, created_at, order_id);
