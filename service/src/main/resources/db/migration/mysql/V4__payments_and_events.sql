-- Payments and order events (issue 13). Applied after V5 on a database that already has it
-- (Flyway runs out of order; this migration touches nothing V5 made).
ALTER TABLE items
    ADD COLUMN payment_window_ms  BIGINT     NULL,
    ADD COLUMN price_amount_minor BIGINT     NULL,
    ADD COLUMN price_currency     VARCHAR(3) NULL;

-- An order on an item with a payment window carries its due time and its payment; version counts
-- the order's changes (1 when stored), and names its events.
ALTER TABLE orders
    ADD COLUMN due_at        BIGINT      NULL,
    ADD COLUMN payment_state VARCHAR(16) NULL,
    ADD COLUMN payment_id    VARCHAR(64) NULL,
    ADD COLUMN paid_at       BIGINT      NULL,
    ADD COLUMN cancel_reason VARCHAR(32) NULL,
    ADD COLUMN version       INT         NOT NULL DEFAULT 1;

-- The index by due time that drives expiry: 'D' while the payment is due, 'R' once the order
-- expired and until the ledger has its units back. Taken before the order row by every change
-- that races (payment, cancel, expiry).
CREATE TABLE payment_due (
    order_id VARCHAR(64) NOT NULL PRIMARY KEY,
    due_at   BIGINT      NOT NULL,
    state    CHAR(1)     NOT NULL,
    INDEX payment_due_by_time (state, due_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Payment callbacks that took effect (or failed), by the provider's id: idempotency.
CREATE TABLE payments (
    payment_id   VARCHAR(64) NOT NULL PRIMARY KEY,
    order_id     VARCHAR(64) NOT NULL,
    status       VARCHAR(16) NOT NULL,
    amount_minor BIGINT      NOT NULL,
    currency     VARCHAR(3)  NOT NULL,
    received_at  BIGINT      NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The transactional outbox: one row per committed change of an order, written in the change's
-- transaction, holding the order as the change left it. position is given by the relay in commit
-- order (NULL until then); readers follow it up to the stamped watermark in event_marks.
CREATE TABLE order_events (
    seq               BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event_id          VARCHAR(80) NOT NULL,
    position          BIGINT      NULL,
    type              VARCHAR(16) NOT NULL,
    at                BIGINT      NOT NULL,
    change_request_id VARCHAR(64) NULL,
    order_id          VARCHAR(64) NOT NULL,
    sku               VARCHAR(64) NOT NULL,
    idempotency_key   VARCHAR(64) NOT NULL,
    user_id           VARCHAR(64) NOT NULL,
    quantity          INT         NOT NULL,
    status            VARCHAR(16) NOT NULL,
    created_at        BIGINT      NOT NULL,
    request_id        VARCHAR(64) NULL,
    cancel_reason     VARCHAR(32) NULL,
    due_at            BIGINT      NULL,
    payment_state     VARCHAR(16) NULL,
    payment_id        VARCHAR(64) NULL,
    paid_at           BIGINT      NULL,
    CONSTRAINT order_events_id UNIQUE (event_id),
    CONSTRAINT order_events_position UNIQUE (position),
    INDEX order_events_unstamped (position, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The relay's marks: 'stamped', the highest position readers may see (every position at or below
-- it is committed, and none below it is ever given again).
CREATE TABLE event_marks (
    name     VARCHAR(64) NOT NULL PRIMARY KEY,
    position BIGINT      NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
