-- Payments and order events (issue 13). Applied after V5 on a database that already has it
-- (Flyway runs out of order; this migration touches nothing V5 made).
ALTER TABLE items ADD COLUMN payment_window_ms INTEGER NULL;
ALTER TABLE items ADD COLUMN price_amount_minor INTEGER NULL;
ALTER TABLE items ADD COLUMN price_currency TEXT NULL;

-- An order on an item with a payment window carries its due time and its payment; version counts
-- the order's changes (1 when stored), and names its events.
ALTER TABLE orders ADD COLUMN due_at INTEGER NULL;
ALTER TABLE orders ADD COLUMN payment_state TEXT NULL;
ALTER TABLE orders ADD COLUMN payment_id TEXT NULL;
ALTER TABLE orders ADD COLUMN paid_at INTEGER NULL;
ALTER TABLE orders ADD COLUMN cancel_reason TEXT NULL;
ALTER TABLE orders ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- The index by due time that drives expiry: 'D' while the payment is due, 'R' once the order
-- expired and until the ledger has its units back.
CREATE TABLE payment_due (
    order_id TEXT    NOT NULL PRIMARY KEY,
    due_at   INTEGER NOT NULL,
    state    TEXT    NOT NULL
);

CREATE INDEX payment_due_by_time ON payment_due (state, due_at);

-- Payment callbacks that took effect (or failed), by the provider's id: idempotency.
CREATE TABLE payments (
    payment_id   TEXT    NOT NULL PRIMARY KEY,
    order_id     TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency     TEXT    NOT NULL,
    received_at  INTEGER NOT NULL
);

-- The transactional outbox: one row per committed change of an order, written in the change's
-- transaction, holding the order as the change left it. position is given by the relay in commit
-- order (NULL until then); readers follow it up to the stamped watermark in event_marks.
CREATE TABLE order_events (
    seq               INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    event_id          TEXT    NOT NULL UNIQUE,
    position          INTEGER NULL UNIQUE,
    type              TEXT    NOT NULL,
    at                INTEGER NOT NULL,
    change_request_id TEXT    NULL,
    order_id          TEXT    NOT NULL,
    sku               TEXT    NOT NULL,
    idempotency_key   TEXT    NOT NULL,
    user_id           TEXT    NOT NULL,
    quantity          INTEGER NOT NULL,
    status            TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    request_id        TEXT    NULL,
    cancel_reason     TEXT    NULL,
    due_at            INTEGER NULL,
    payment_state     TEXT    NULL,
    payment_id        TEXT    NULL,
    paid_at           INTEGER NULL
);

CREATE INDEX order_events_unstamped ON order_events (seq) WHERE position IS NULL;

-- The relay's marks: 'stamped', the highest position readers may see.
CREATE TABLE event_marks (
    name     TEXT    NOT NULL PRIMARY KEY,
    position INTEGER NOT NULL
);
