package io.floodgate.http;

import io.helidon.common.uri.UriQuery;
import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.ServerResponseTrailers;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;

import java.io.OutputStream;
import java.util.function.UnaryOperator;

/**
 * The answer to a HEAD request, made by the GET route of the same path: its status and headers,
 * and a {@code Content-Length} that is the length its body would have had, but no body (RFC 9110
 * 9.3.2). Hand-written because Helidon 4.5 neither routes HEAD to GET routes nor leaves the body
 * out of an answer to HEAD. Every route here answers with one {@code send(byte[])}, which is what
 * this supports; a streamed answer ({@link #outputStream()}) is refused.
 */
final class HeadResponse implements ServerResponse {

    private final ServerResponse delegate;

    HeadResponse(ServerResponse delegate) {
        this.delegate = delegate;
    }

    @Override
    public ServerResponse status(Status status) {
        delegate.status(status);
        return this;
    }

    @Override
    public Status status() {
        return delegate.status();
    }

    @Override
    public ServerResponse header(Header header) {
        delegate.header(header);
        return this;
    }

    @Override
    public void send() {
        delegate.send();
    }

    @Override
    public void send(byte[] entity) {
        delegate.header(HeaderNames.CONTENT_LENGTH, Integer.toString(entity.length));
        delegate.send();
    }

    @Override
    public void send(Object entity) {
        throw new UnsupportedOperationException("HEAD answers a route that sends bytes only");
    }

    @Override
    public boolean isSent() {
        return delegate.isSent();
    }

    @Override
    public OutputStream outputStream() {
        throw new UnsupportedOperationException("HEAD answers a route that sends bytes only");
    }

    @Override
    public long bytesWritten() {
        return delegate.bytesWritten();
    }

    @Override
    public ServerResponse whenSent(Runnable listener) {
        delegate.whenSent(listener);
        return this;
    }

    @Override
    public ServerResponse reroute(String newPath) {
        delegate.reroute(newPath);
        return this;
    }

    @Override
    public ServerResponse reroute(String path, UriQuery query) {
        delegate.reroute(path, query);
        return this;
    }

    @Override
    public ServerResponse next() {
        delegate.next();
        return this;
    }

    @Override
    public ServerResponseHeaders headers() {
        return delegate.headers();
    }

    @Override
    public ServerResponseTrailers trailers() {
        return delegate.trailers();
    }

    @Override
    public void streamResult(String result) {
        delegate.streamResult(result);
    }

    @Override
    public void streamFilter(UnaryOperator<OutputStream> filterFunction) {
        delegate.streamFilter(filterFunction);
    }
}
