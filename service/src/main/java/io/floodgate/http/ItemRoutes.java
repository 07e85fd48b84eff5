package io.floodgate.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.floodgate.core.CatalogService;
import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.floodgate.core.domain.ItemSpec;
import io.floodgate.core.domain.ItemView;
import io.floodgate.core.domain.Price;
import io.floodgate.flow.Admission;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.time.Duration;
import java.util.Optional;

import static io.floodgate.http.Problems.json;
import static io.floodgate.http.RequestScope.withinDeadline;

/** {@code /api/v1/items}: the sale's stock, read by anyone, defined and restocked by the admin. */
final class ItemRoutes implements HttpService {

    private final CatalogService catalog;
    private final Admission admission;
    private final Auth auth;
    private final Bodies bodies;
    private final Problems problems;

    ItemRoutes(CatalogService catalog, Admission admission, Auth auth, Bodies bodies, Problems problems) {
        this.catalog = catalog;
        this.admission = admission;
        this.auth = auth;
        this.bodies = bodies;
        this.problems = problems;
    }

    @Override
    public void routing(HttpRules r) {
        r.get("/api/v1/items", problems.endpoint("/api/v1/items", this::list))
                .head("/api/v1/items", problems.head("/api/v1/items", this::list))
                .any("/api/v1/items", problems.notAllowed("GET, HEAD"));
        r.get("/api/v1/items/{sku}", problems.endpoint("/api/v1/items/{sku}", this::get))
                .head("/api/v1/items/{sku}", problems.head("/api/v1/items/{sku}", this::get))
                .put("/api/v1/items/{sku}", problems.endpoint("/api/v1/items/{sku}", this::put))
                .any("/api/v1/items/{sku}", problems.notAllowed("GET, HEAD, PUT"));
        r.post("/api/v1/items/{sku}/stock", problems.endpoint("/api/v1/items/{sku}/stock", this::adjustStock))
                .any("/api/v1/items/{sku}/stock", problems.notAllowed("POST"));
    }

    private void list(ServerRequest req, ServerResponse res) {
        try (Admission.Permit permit = admission.admitRead()) {
            json(res, 200, Json.items(catalog.items()));
        }
    }

    private void get(ServerRequest req, ServerResponse res) {
        String sku = req.path().pathParameters().get("sku");
        try (Admission.Permit permit = admission.admitRead()) {
            ItemView view = (Ids.isSku(sku) ? catalog.item(sku) : Optional.<ItemView>empty())
                    .orElseThrow(() -> unknownItem(sku));
            json(res, 200, Json.item(view));
        }
    }

    private void put(ServerRequest req, ServerResponse res) throws Exception {
        String sku = req.path().pathParameters().get("sku");
        JsonNode body = Json.object(bodies.read(req)); // the tree: price is an object
        if (!Ids.isSku(sku)) {
            throw Json.invalid("sku", "in the path must be 1-64 characters of [A-Za-z0-9._-]");
        }
        String name = Json.requiredString(body, "name");
        int nameLength = name.codePointCount(0, name.length());
        if (nameLength < 1 || nameLength > 200) {
            throw Json.invalid("name", "must be 1-200 characters, was " + nameLength);
        }
        String refused = refusedInName(name);
        if (refused != null) {
            throw Json.invalid("name", "must not hold " + refused);
        }
        long stock = Json.requiredLong(body, "stock", 0, 1_000_000_000L);
        int perUserLimit = (int) Json.optionalLong(body, "perUserLimit", 1, 1_000_000, 1);
        var startsAt = Json.optionalInstant(body, "startsAt");
        var endsAt = Json.optionalInstant(body, "endsAt");
        if (startsAt != null && endsAt != null && !endsAt.isAfter(startsAt)) {
            throw Json.invalid("endsAt", "must be after startsAt");
        }
        long windowSeconds = Json.optionalLong(body, "paymentWindowSeconds", 1,
                ItemSpec.MAX_PAYMENT_WINDOW.toSeconds(), 0);
        Price price = price(body.get("price"));
        auth.requireAdmin(req);
        ItemSpec spec = new ItemSpec(sku, name, stock, perUserLimit, startsAt, endsAt,
                windowSeconds == 0 ? null : Duration.ofSeconds(windowSeconds), price);
        CatalogService.Defined defined = withinDeadline(() -> catalog.putItem(spec));
        json(res, defined.created() ? 201 : 200, Json.item(defined.item()));
    }

    private void adjustStock(ServerRequest req, ServerResponse res) throws Exception {
        String sku = req.path().pathParameters().get("sku");
        JsonNode body = Json.flatObject(bodies.read(req));
        long delta = Json.requiredLong(body, "delta", -1_000_000_000L, 1_000_000_000L);
        auth.requireAdmin(req);
        if (!Ids.isSku(sku)) {
            throw unknownItem(sku);
        }
        json(res, 200, Json.item(withinDeadline(() -> catalog.adjustStock(sku, delta))));
    }

    /**
     * What in an item name cannot be stored and shown as it was given, or null: a lone surrogate
     * (it has no UTF-8 form, and came back from the store as '?'), NUL (PostgreSQL refuses it in
     * text), any other control character, the bidirectional embeddings, overrides, isolates and
     * marks (they reorder what an operator reads on the dashboard), and noncharacters.
     */
    static String refusedInName(String name) {
        for (int i = 0; i < name.length(); ) {
            int c = name.codePointAt(i);
            int at = name.codePointCount(0, i);
            if (Character.isSurrogate((char) c) && c < 0x10000) {
                return "a lone surrogate (character " + at + ")";
            }
            if (Character.getType(c) == Character.CONTROL) {
                return "a control character (U+" + String.format("%04X", c) + ", character " + at + ")";
            }
            if ((c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0x200E || c == 0x200F
                    || c == 0x061C) {
                return "a bidirectional control (U+" + String.format("%04X", c) + ", character " + at + ")";
            }
            if ((c & 0xFFFE) == 0xFFFE || (c >= 0xFDD0 && c <= 0xFDEF)) {
                return "a noncharacter (U+" + String.format("%04X", c) + ", character " + at + ")";
            }
            i += Character.charCount(c);
        }
        return null;
    }

    /** {@code {"amountMinor": 129900, "currency": "EUR"}}, or null when absent or null. */
    private static Price price(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw Json.invalid("price", "must be an object {\"amountMinor\": <integer>, \"currency\": \"<ISO 4217>\"} or null");
        }
        JsonNode amount = node.get("amountMinor");
        if (amount == null || amount.isNull()) {
            throw Json.invalid("price.amountMinor", "is required");
        }
        if (!amount.isIntegralNumber() || !amount.canConvertToLong() || amount.longValue() < 0
                || amount.longValue() > Price.MAX_AMOUNT_MINOR) {
            throw Json.invalid("price.amountMinor", "must be a JSON integer from 0 to " + Price.MAX_AMOUNT_MINOR);
        }
        JsonNode currency = node.get("currency");
        if (currency == null || currency.isNull()) {
            throw Json.invalid("price.currency", "is required");
        }
        if (!currency.isTextual() || !Price.isCurrencyCode(currency.textValue())) {
            throw Json.invalid("price.currency", "must be an ISO 4217 code such as EUR");
        }
        return new Price(amount.longValue(), currency.textValue());
    }

    private static RejectedException unknownItem(String sku) {
        return new RejectedException(Rejection.UNKNOWN_ITEM, "there is no item " + Json.abbreviate(sku));
    }
}
