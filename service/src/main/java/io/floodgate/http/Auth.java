package io.floodgate.http;

import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Who may do what: the admin token (compared in constant time), and, when user auth is on, the
 * user token whose subject must be the user the request names.
 */
final class Auth {

    private final byte[] adminToken;
    /** Null when user auth is off. */
    private final Jwt jwt;

    Auth(String adminToken, Jwt jwt) {
        this.adminToken = adminToken.getBytes(StandardCharsets.UTF_8);
        this.jwt = jwt;
    }

    boolean userAuthOn() {
        return jwt != null;
    }

    /** Throws 403 unless user auth is off or the user token's subject is {@code userId}. */
    void requireUser(ServerRequest req, String userId) {
        if (jwt != null && !userSubject(req).equals(userId)) {
            throw new RejectedException(Rejection.FORBIDDEN, "the token's subject is not userId " + userId);
        }
    }

    /**
     * Whose orders the caller may see or cancel: anyone's when user auth is off; with it on, the
     * admin any user's, a user token its own subject's only.
     *
     * @throws RejectedException {@code UNAUTHENTICATED} when auth is on and no valid token came
     */
    Predicate<String> orderAccess(ServerRequest req) {
        if (jwt == null || isAdmin(req)) {
            return user -> true;
        }
        String subject = userSubject(req);
        return subject::equals;
    }

    void requireAdmin(ServerRequest req) {
        if (!isAdmin(req)) {
            throw new RejectedException(Rejection.UNAUTHENTICATED,
                    "an admin token is required: Authorization: Bearer <admin token>");
        }
    }

    private String userSubject(ServerRequest req) {
        String token = bearer(req).orElseThrow(() -> new RejectedException(Rejection.UNAUTHENTICATED,
                "a user token is required: Authorization: Bearer <token>"));
        return jwt.subject(token).orElseThrow(() -> new RejectedException(Rejection.UNAUTHENTICATED,
                "the user token is invalid or expired"));
    }

    private boolean isAdmin(ServerRequest req) {
        return bearer(req).map(t -> MessageDigest.isEqual(t.getBytes(StandardCharsets.UTF_8), adminToken)).orElse(false);
    }

    private static Optional<String> bearer(ServerRequest req) {
        if (req.headers().contains(HeaderNames.AUTHORIZATION) && req.headers().get(HeaderNames.AUTHORIZATION).valueCount() > 1) {
            // which one would count? Refused (the edge refuses it before routing too: EdgeRules)
            throw Json.invalid("Authorization", "must be sent once");
        }
        return req.headers().first(HeaderNames.AUTHORIZATION)
                .filter(h -> h.regionMatches(true, 0, "Bearer ", 0, 7))
                .map(h -> h.substring(7).trim())
                .filter(t -> !t.isEmpty());
    }
}
