package io.floodgate.http;

import io.helidon.http.DirectHandler;
import io.helidon.http.Header;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.RequestException;
import io.helidon.http.Status;


/**
 * The HTTP/1.1 framing rules (RFC 9112) Floodgate holds a request to before Helidon parses it, for
 * the cases Helidon 4.5 lets through or answers 500: the raw request line (methods are
 * case-sensitive, no control or non-ASCII byte anywhere), the header section (no empty or invalid
 * field name, no control character in a value, the fields whose meaning needs one value sent at
 * most once), chunk-size lines with extensions and the trailer section (both valid HTTP, refused
 * by Helidon's chunk parser). Each refusal is a {@link RequestException} with the status to answer,
 * which Helidon turns into a direct-handler answer (problem+json, {@code HttpApi.directHandlers}).
 * Pure functions over bytes and strings; {@link EdgeReader} and {@link Edge} call them.
 */
final class EdgeRules {

    /** Fields whose meaning depends on there being one: a second copy is refused, not guessed at. */
    private static final HeaderName[] SINGLE = {HeaderNames.AUTHORIZATION, HeaderNames.HOST, HeaderNames.CONTENT_LENGTH,
            HeaderNames.CONTENT_TYPE, HeaderNames.TRANSFER_ENCODING, OrderRoutes.IDEMPOTENCY_KEY, RequestScope.X_REQUEST_ID,
            RequestScope.REQUEST_TIMEOUT};

    /** The most a trailer section may hold, in lines and in bytes. */
    static final int MAX_TRAILER_LINES = 32;
    static final int MAX_TRAILER_BYTES = 8_192;

    private static final boolean[] TCHAR = new boolean[128];

    static {
        for (char c = '0'; c <= '9'; c++) {
            TCHAR[c] = true;
        }
        for (char c = 'a'; c <= 'z'; c++) {
            TCHAR[c] = true;
            TCHAR[c - 'a' + 'A'] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[c] = true;
        }
    }

    private EdgeRules() {
    }

    static boolean isTchar(int c) {
        return c >= 0 && c < 128 && TCHAR[c];
    }

    /**
     * Checks a raw request line (without its CRLF): {@code method SP request-target SP HTTP-version},
     * one space each, the method a token in upper case, the target and version visible ASCII only.
     *
     * <p>A method is case-sensitive (RFC 9110 9.1) and every standard one is upper case: {@code get}
     * is not {@code GET}, and Helidon 4.5 upper-cases it and served it as {@code GET}. It is 400
     * here, before Helidon sees it. An unknown upper-case token goes on to the routes, which answer
     * 405 with {@code Allow} (or 404 for an unknown path). Not 501: a method a client made up is
     * the client's mistake, and a 5xx is what operators read as the server failing.
     *
     * @throws RequestException 400 for a malformed line or a method not in upper case
     */
    static void requestLine(byte[] line, int length) {
        int firstSpace = -1;
        int secondSpace = -1;
        for (int i = 0; i < length; i++) {
            int b = line[i] & 0xFF;
            if (b == ' ') {
                if (firstSpace < 0) {
                    firstSpace = i;
                } else if (secondSpace < 0) {
                    secondSpace = i;
                } else {
                    throw bad("the request line has more than two spaces");
                }
            } else if (b < 0x21 || b > 0x7E) {
                // NUL, TAB, CR, DEL, bytes of another charset: no such byte belongs in a request line
                throw bad("the request line holds a control or non-ASCII byte (0x" + Integer.toHexString(b) + ")");
            }
        }
        if (firstSpace <= 0 || secondSpace < 0 || secondSpace == firstSpace + 1 || secondSpace == length - 1) {
            throw bad("the request line must be: method, one space, target, one space, HTTP version");
        }
        for (int i = 0; i < firstSpace; i++) {
            if (!isTchar(line[i])) {
                throw bad("the method must be a token");
            }
            if (line[i] >= 'a' && line[i] <= 'z') {
                throw bad("the method must be in upper case: methods are case-sensitive ("
                        + LogText.of(new String(line, 0, firstSpace, java.nio.charset.StandardCharsets.US_ASCII))
                        + " is not a method this server knows)");
            }
        }
    }

    /**
     * Checks the header section once parsed: every name a token (so never empty), every value
     * free of control characters but HTAB, and the fields of {@link #SINGLE} sent once at most.
     */
    static void headers(Headers headers) {
        for (Header header : headers) {
            String name = header.name();
            if (name.isEmpty()) {
                throw bad("a header field has an empty name");
            }
            for (int i = 0; i < name.length(); i++) {
                if (!isTchar(name.charAt(i))) {
                    throw bad("a header field name holds a character no field name may hold");
                }
            }
            for (String value : header.allValues()) {
                for (int i = 0; i < value.length(); i++) {
                    char c = value.charAt(i);
                    if ((c < 0x20 && c != '\t') || c == 0x7F) {
                        throw bad("header " + LogText.of(name) + " holds a control character");
                    }
                }
            }
        }
        for (HeaderName name : SINGLE) {
            if (headers.contains(name) && headers.get(name).valueCount() > 1) {
                throw bad("header " + name.defaultCase() + " must be sent once");
            }
        }
        if (headers.contains(HeaderNames.CONTENT_LENGTH)) {
            String length = headers.get(HeaderNames.CONTENT_LENGTH).get();
            if (length.isEmpty() || length.length() > 18) {
                throw bad("Content-Length must be 1 to 18 decimal digits");
            }
            for (int i = 0; i < length.length(); i++) {
                if (length.charAt(i) < '0' || length.charAt(i) > '9') {
                    throw bad("Content-Length must be 1 to 18 decimal digits");
                }
            }
        }
    }

    /**
     * The size of a chunk-size line ({@code 1*HEXDIG *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] )},
     * RFC 9112 7.1.1), as hex digits for Helidon's parser: extensions are checked and dropped (a
     * recipient must ignore the ones it does not know, and this one knows none).
     */
    static String chunkSize(String line) {
        int i = 0;
        int n = line.length();
        while (i < n && hex(line.charAt(i))) {
            i++;
        }
        if (i == 0 || i > 8) {
            throw bad(i == 0 ? "a chunk size must be hexadecimal digits" : "a chunk size is too large");
        }
        String size = line.substring(0, i);
        while (i < n) {
            i = skipBlanks(line, i);
            if (i == n) {
                break; // trailing whitespace after the last extension: BWS
            }
            if (line.charAt(i) != ';') {
                throw bad("a chunk size line holds something that is not an extension");
            }
            i = skipBlanks(line, i + 1);
            int nameStart = i;
            while (i < n && isTchar(line.charAt(i))) {
                i++;
            }
            if (i == nameStart) {
                throw bad("a chunk extension has no name");
            }
            i = skipBlanks(line, i);
            if (i < n && line.charAt(i) == '=') {
                i = skipBlanks(line, i + 1);
                if (i < n && line.charAt(i) == '"') {
                    i = quotedString(line, i);
                } else {
                    int valueStart = i;
                    while (i < n && isTchar(line.charAt(i))) {
                        i++;
                    }
                    if (i == valueStart) {
                        throw bad("a chunk extension has an empty value");
                    }
                }
            }
        }
        return size;
    }

    /** Whether a chunk size (hex digits) is zero: the last chunk, after which trailers may come. */
    static boolean isLastChunk(String size) {
        for (int i = 0; i < size.length(); i++) {
            if (size.charAt(i) != '0') {
                return false;
            }
        }
        return true;
    }

    /** Checks one trailer field line ({@code field-name ":" OWS field-value OWS}); its content is dropped. */
    static void trailerField(String line) {
        int colon = line.indexOf(':');
        if (colon <= 0) {
            throw bad("a trailer line is not a field");
        }
        for (int i = 0; i < colon; i++) {
            if (!isTchar(line.charAt(i))) {
                throw bad("a trailer field name holds a character no field name may hold");
            }
        }
        for (int i = colon + 1; i < line.length(); i++) {
            char c = line.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7F) {
                throw bad("a trailer field value holds a control character");
            }
        }
    }

    private static int quotedString(String line, int at) {
        int i = at + 1;
        while (i < line.length()) {
            char c = line.charAt(i);
            if (c == '"') {
                return i + 1;
            }
            if (c == '\\') {
                i++;
                if (i >= line.length()) {
                    break;
                }
                c = line.charAt(i);
                if ((c < 0x20 && c != '\t') || c == 0x7F) {
                    throw bad("a chunk extension value holds a control character");
                }
            } else if ((c < 0x20 && c != '\t') || c == 0x7F) {
                throw bad("a chunk extension value holds a control character");
            }
            i++;
        }
        throw bad("a chunk extension's quoted value is not closed");
    }

    private static int skipBlanks(String line, int i) {
        while (i < line.length() && (line.charAt(i) == ' ' || line.charAt(i) == '\t')) {
            i++;
        }
        return i;
    }

    private static boolean hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    static RequestException bad(String message) {
        return RequestException.builder()
                .type(DirectHandler.EventType.BAD_REQUEST)
                .status(Status.BAD_REQUEST_400)
                .message(message)
                .safeMessage(true)
                .build();
    }
}
