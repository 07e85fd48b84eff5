package io.floodgate.core.domain;

import java.time.Instant;

/** The state an item view shows, derived from the window, the clock and what is left. */
public enum SaleState {
    UPCOMING, ON_SALE, SOLD_OUT, ENDED;

    public static SaleState of(ItemSpec spec, long available, Instant now) {
        if (spec.endsAt() != null && !now.isBefore(spec.endsAt())) {
            return ENDED;
        }
        if (spec.startsAt() != null && now.isBefore(spec.startsAt())) {
            return UPCOMING;
        }
        return available <= 0 ? SOLD_OUT : ON_SALE;
    }
}
