package io.floodgate.http;

import io.floodgate.core.RejectedException;
import io.floodgate.core.Rejection;
import io.helidon.common.buffers.DataReader;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpException;
import io.helidon.http.HttpMediaType;
import io.helidon.http.RequestException;
import io.helidon.webserver.http.ServerRequest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Request bodies: JSON in UTF-8 only (415 for another media type or charset), at most the
 * configured size (413 above it), arriving within the body timeout (the connection is closed
 * otherwise), framed correctly (400 and the connection closed otherwise).
 *
 * <p>UTF-8 is checked before the parser sees the bytes, because Jackson detects UTF-16 and UTF-32
 * by their zero bytes and byte-order marks and would read such a body as the same JSON: a body
 * with a byte-order mark of UTF-16 or UTF-32, or a {@code charset} other than UTF-8, is 415; a
 * UTF-8 byte-order mark or a NUL byte (never part of UTF-8 JSON text) is 400.
 */
final class Bodies {

    private final int maxBytes;
    private final Duration timeout;

    Bodies(int maxBytes) {
        this(maxBytes, Duration.ofSeconds(10));
    }

    Bodies(int maxBytes, Duration timeout) {
        this.maxBytes = maxBytes;
        this.timeout = timeout;
    }

    /** Reads a JSON body of at most the configured size: 413 above it, 415 if it is not JSON in UTF-8. */
    byte[] read(ServerRequest req) {
        OptionalLong declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > maxBytes) {
            throw tooLarge();
        }
        Optional<HttpMediaType> type;
        try {
            type = req.headers().contentType();
        } catch (RuntimeException e) { // not a media type at all
            throw new RejectedException(Rejection.UNSUPPORTED_MEDIA_TYPE, "the body must be application/json, was '"
                    + Json.abbreviate(req.headers().first(HeaderNames.CONTENT_TYPE).orElse("")) + "'");
        }
        if (type.isEmpty() || !"application".equalsIgnoreCase(type.get().type())
                || !"json".equalsIgnoreCase(type.get().subtype())) {
            throw new RejectedException(Rejection.UNSUPPORTED_MEDIA_TYPE, "the body must be application/json, was "
                    + type.map(t -> "'" + Json.abbreviate(t.mediaType().text()) + "'").orElse("no Content-Type"));
        }
        Optional<String> charset = type.get().charset();
        if (charset.isPresent() && !"utf-8".equals(charset.get().trim().toLowerCase(Locale.ROOT))) {
            throw new RejectedException(Rejection.UNSUPPORTED_MEDIA_TYPE, "the body must be JSON in UTF-8, was charset '"
                    + Json.abbreviate(charset.get()) + "'");
        }
        Optional<String> coding = req.headers().first(HeaderNames.CONTENT_ENCODING);
        if (coding.isPresent() && !"identity".equalsIgnoreCase(coding.get().trim())) {
            // RFC 7694: 415 for a content coding the server does not take (a compressed body is also a
            // way past the size limit)
            throw new RejectedException(Rejection.UNSUPPORTED_MEDIA_TYPE, "the body must not be encoded, was"
                    + " Content-Encoding '" + Json.abbreviate(coding.get()) + "'");
        }
        if (!req.content().hasEntity()) {
            return new byte[0];
        }
        return utf8(timely(req, declared));
    }

    /** The body's bytes, read within the body timeout when the request came through the edge. */
    private byte[] timely(ServerRequest req, OptionalLong declared) {
        EdgeConnection connection = EdgeConnection.current();
        if (connection != null) {
            connection.begin(EdgeConnection.Phase.BODY, timeout);
        }
        byte[] bytes;
        try {
            bytes = readBody(req, declared);
        } catch (RuntimeException e) {
            if (connection != null && !connection.end()) {
                throw EdgeConnection.dropped("the request body did not arrive within " + timeout.toMillis() + " ms");
            }
            throw e;
        }
        if (connection != null && !connection.end()) {
            throw EdgeConnection.dropped("the request body did not arrive within " + timeout.toMillis() + " ms");
        }
        return bytes;
    }

    private byte[] readBody(ServerRequest req, OptionalLong declared) {
        try (InputStream in = req.content().inputStream()) {
            if (declared.isPresent() && declared.getAsLong() >= 0 && !req.headers().contains(HeaderNames.TRANSFER_ENCODING)) {
                // Exactly the declared length: readNBytes(max + 1) allocated and zeroed a 16 KB
                // chunk per request for an 80-byte order, 9% of the CPU when most were shed. Not
                // with Transfer-Encoding, where the body is chunked whatever Content-Length says
                // (Helidon refuses that pair as malformed before routing; this holds regardless).
                return in.readNBytes((int) declared.getAsLong());
            }
            byte[] bytes = in.readNBytes(maxBytes + 1);
            if (bytes.length > maxBytes) {
                throw tooLarge();
            }
            return bytes;
        } catch (RequestException e) {
            // the body's framing, as Helidon's chunk parser and EdgeReader judge it
            throw e.status().code() >= 500 ? e : ClientFault.from(e);
        } catch (HttpException e) {
            throw e.status().code() >= 500 ? e : ClientFault.from(e);
        } catch (DataReader.IncorrectNewLineException e) {
            throw new ClientFault(Rejection.INVALID_REQUEST, "framing", "the request body's framing is malformed");
        } catch (IOException | UncheckedIOException | DataReader.InsufficientDataAvailableException e) {
            // the client went away, or stopped sending, in the middle of its body
            throw new ClientFault(Rejection.INVALID_REQUEST, "body-cut", "the request body ended before its end");
        }
    }

    /** Refuses what is not UTF-8 JSON text before the parser, which would guess another encoding. */
    private static byte[] utf8(byte[] body) {
        int n = body.length;
        if (n >= 2 && ((body[0] == (byte) 0xFE && body[1] == (byte) 0xFF) || (body[0] == (byte) 0xFF && body[1] == (byte) 0xFE))
                || n >= 4 && body[0] == 0 && body[1] == 0 && body[2] == (byte) 0xFE && body[3] == (byte) 0xFF) {
            throw new RejectedException(Rejection.UNSUPPORTED_MEDIA_TYPE,
                    "the body must be JSON in UTF-8; it begins with a UTF-16 or UTF-32 byte-order mark");
        }
        if (n >= 3 && body[0] == (byte) 0xEF && body[1] == (byte) 0xBB && body[2] == (byte) 0xBF) {
            throw Json.invalid("body", "must not begin with a byte-order mark (RFC 8259)");
        }
        for (byte b : body) {
            if (b == 0) {
                throw Json.invalid("body", "holds a NUL byte: JSON in UTF-8 has none (UTF-16 and UTF-32 are not accepted)");
            }
        }
        return body;
    }

    private RejectedException tooLarge() {
        return new RejectedException(Rejection.PAYLOAD_TOO_LARGE, "the body is larger than " + maxBytes + " bytes");
    }
}
