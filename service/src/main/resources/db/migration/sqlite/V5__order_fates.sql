-- Each order's fate, decided once: stored ('S'), by the writer that stored it, in the same
-- transaction; or released ('R'), by the reconciler, for a reservation it found unstored after
-- the grace period. The primary key makes the two exclude each other: a writer whose order was
-- released (an instance that was paused past the grace, and woke) stores nothing, and the
-- reconciler never releases an order that was stored.
CREATE TABLE order_fates (
    order_id   TEXT    NOT NULL PRIMARY KEY,
    fate       TEXT    NOT NULL,
    decided_at INTEGER NOT NULL
);
