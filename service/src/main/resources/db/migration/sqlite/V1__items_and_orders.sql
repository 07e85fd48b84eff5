-- Times are epoch milliseconds (UTC) in every dialect, so that the same code reads them all.
CREATE TABLE items (
    sku            TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    stock          INTEGER NOT NULL,
    per_user_limit INTEGER NOT NULL,
    starts_at      INTEGER NULL,
    ends_at        INTEGER NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE orders (
    order_id        TEXT    NOT NULL PRIMARY KEY,
    sku             TEXT    NOT NULL REFERENCES items (sku),
    idempotency_key TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    quantity        INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    request_id      TEXT    NULL,
    cancelled_at    INTEGER NULL,
    CONSTRAINT orders_sku_key UNIQUE (sku, idempotency_key)
);

CREATE INDEX orders_by_user ON orders (user_id, created_at, order_id);
