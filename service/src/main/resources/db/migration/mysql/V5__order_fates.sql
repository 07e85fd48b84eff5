-- Each order's fate, decided once: stored ('S'), by the writer that stored it, in the same
-- transaction; or released ('R'), by the reconciler, for a reservation it found unstored after
-- the grace period. The primary key makes the two exclude each other: a writer whose order was
-- released (an instance that was paused past the grace, and woke) stores nothing, and the
-- reconciler never releases an order that was stored.
CREATE TABLE order_fates (
    order_id   VARCHAR(64) NOT NULL PRIMARY KEY,
    fate       CHAR(1)     NOT NULL,
    decided_at BIGINT      NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
