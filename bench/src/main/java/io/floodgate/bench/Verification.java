package io.floodgate.bench;

import java.util.List;

/**
 * The verdict on a sale: one {@link Check} per invariant of DESIGN.md that the API lets a client
 * see, and the figures they were computed from.
 */
record Verification(List<Check> checks, Figures figures) {

    enum Verdict { PASS, FAIL, SKIP }

    /** One invariant, its verdict, and what was seen (with examples when it failed). */
    record Check(String name, Verdict verdict, String detail) {
    }

    /**
     * What the verification saw.
     *
     * @param stock            units on sale (item view)
     * @param available        units left (item view, once it agreed or stopped changing)
     * @param soldBefore       units sold before the run (item view at the start)
     * @param storeOrders      orders of the item held by this run's users (cancelled ones included)
     * @param storeUnits       units in those orders that are not cancelled
     * @param ackedOrders      distinct orders acknowledged to the bench
     * @param ackedUnits       units in them
     * @param lostAckOrders    orders in the store whose request got no answer (timeout, reset)
     * @param unknownKeys      keys with at least one unanswered request
     * @param usersListed      users whose orders were listed
     * @param replaysMatched   retries answered with the order their key had already produced
     */
    record Figures(long stock, long available, long soldBefore, long storeOrders, long storeUnits,
                   long ackedOrders, long ackedUnits, long lostAckOrders, long unknownKeys, long usersListed,
                   long replaysMatched) {
    }

    boolean passed() {
        return checks.stream().noneMatch(c -> c.verdict() == Verdict.FAIL);
    }
}
