package io.floodgate.http;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;

import java.util.function.Supplier;

/**
 * The reader Helidon's HTTP/1 connection parses a connection's bytes from, with Floodgate's
 * framing rules put in at the three points where Helidon 4.5 reads a line we need to see. Hand
 * -written because Helidon offers no hook there (a receive listener sees requests only after
 * they are parsed, with the method already upper-cased):
 *
 * <ul>
 *   <li>the request line, which Helidon reads with one {@link #readBytes} call at the start of each
 *       request: checked by {@link EdgeRules#requestLine} before Helidon parses it (a NUL or tab in
 *       it gave Helidon's 500; a lower-case method was served as the upper-case one);</li>
 *   <li>chunk-size lines and the line after the last chunk, the only lines Helidon reads with
 *       {@link #readLine}: extensions are checked and dropped and a trailer section is checked and
 *       skipped (Helidon refused both, valid as they are, with an error that reached the handler as a
 *       500);</li>
 *   <li>the CRLF after a chunk's data, which Helidon skips unread ({@link #skip}): it must be CRLF.</li>
 * </ul>
 *
 * Which call is which is known from Helidon 4.5's own sequence (checked against its bytecode, and
 * by {@code EdgeFramingTest}): after a request's header section, the next {@code readBytes} is the
 * next request line; {@code readLine} is called by the chunk parser alone. One per connection, used
 * by its one thread.
 */
final class EdgeReader extends DataReader {

    /** The longest chunk-size or trailer line taken. */
    static final int MAX_LINE = 4_096;

    /** Set at the start and after each header section: the next readBytes is a request line. */
    private boolean expectRequestLine = true;
    /** The previous line was the last chunk's size: the next readLine is the trailer section. */
    private boolean trailersNext;
    /** A chunk's data was handed out: the next skip(2) is its CRLF. */
    private boolean crlfNext;

    EdgeReader(Supplier<byte[]> source) {
        super(source);
    }

    /** The header section was read: the request's body (if any) follows, then the next request line. */
    void headersRead() {
        expectRequestLine = true;
    }

    @Override
    public byte[] readBytes(int length) {
        byte[] bytes = super.readBytes(length);
        if (expectRequestLine) {
            expectRequestLine = false;
            EdgeRules.requestLine(bytes, bytes.length);
        }
        return bytes;
    }

    @Override
    public String readLine() throws IncorrectNewLineException {
        if (trailersNext) {
            trailersNext = false;
            skipTrailers();
            return "";
        }
        String size = EdgeRules.chunkSize(line());
        if (EdgeRules.isLastChunk(size)) {
            trailersNext = true;
        } else {
            crlfNext = true;
        }
        return size;
    }

    /**
     * A chunk's data: DataReader hands it out with a {@code skip} of its own length, which is not
     * the CRLF after it (a chunk of two bytes would look like one).
     */
    @Override
    public BufferData readBuffer(int length) {
        boolean crlf = crlfNext;
        crlfNext = false;
        try {
            return super.readBuffer(length);
        } finally {
            crlfNext = crlf;
        }
    }

    @Override
    public BufferData readBuffer() {
        boolean crlf = crlfNext;
        crlfNext = false;
        try {
            return super.readBuffer();
        } finally {
            crlfNext = crlf;
        }
    }

    @Override
    public void skip(int length) {
        if (crlfNext && length == 2) {
            crlfNext = false;
            while (available() < 2) {
                pullData();
            }
            byte[] crlf = super.readBytes(2);
            if (crlf[0] != '\r' || crlf[1] != '\n') {
                throw EdgeRules.bad("a chunk's data is not followed by CRLF");
            }
            return;
        }
        super.skip(length);
    }

    /**
     * One line of at most {@link #MAX_LINE} characters. DataReader's own readLine looks for the end
     * of a line without a bound, so a chunk-size line that never ended would be buffered without one.
     */
    private String line() {
        int eol;
        try {
            eol = findNewLine(MAX_LINE);
        } catch (IncorrectNewLineException e) {
            throw EdgeRules.bad("a line of the chunked body does not end with CRLF");
        }
        if (eol >= MAX_LINE) {
            throw EdgeRules.bad("a line of the chunked body is too long");
        }
        String line = readAsciiString(eol);
        super.skip(2);
        return line;
    }

    private void skipTrailers() {
        int bytes = 0;
        for (int lines = 0; ; lines++) {
            String line = line();
            if (line.isEmpty()) {
                return;
            }
            bytes += line.length() + 2;
            if (lines >= EdgeRules.MAX_TRAILER_LINES || bytes > EdgeRules.MAX_TRAILER_BYTES) {
                throw EdgeRules.bad("the trailer section is too large");
            }
            EdgeRules.trailerField(line);
        }
    }
}
