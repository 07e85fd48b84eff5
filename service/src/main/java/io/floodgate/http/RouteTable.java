package io.floodgate.http;

import io.helidon.http.Method;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRoute;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The routes a set of {@link HttpService}s registers, as {@code "METHOD /path/{param}"}: the same
 * {@code routing(HttpRules)} calls the server's routing makes, recorded instead of served. The
 * catch-all handlers a service adds with {@code any(path, ...)} (405 for the methods a path does
 * not take) are not routes of their own and are left out, and so is the HEAD beside every GET. The
 * OpenAPI test holds the document
 * against this list.
 */
final class RouteTable implements HttpRules {

    private final Set<String> routes = new TreeSet<>();

    static List<String> of(HttpService... services) {
        RouteTable table = new RouteTable();
        table.register(services);
        // HEAD is answered wherever GET is (RFC 9110, 9.3.2: the GET's headers, no body), as the
        // document says once in its description rather than on every path
        table.routes.removeIf(route -> route.startsWith("HEAD ")
                && table.routes.contains("GET " + route.substring("HEAD ".length())));
        return List.copyOf(table.routes);
    }

    @Override
    public HttpRules register(HttpService... services) {
        for (HttpService service : services) {
            service.routing(this);
        }
        return this;
    }

    @Override
    public HttpRules register(String pathPattern, HttpService... services) {
        throw new UnsupportedOperationException("services under a path prefix are not recorded: register them at the"
                + " root, with full paths, as the others are (" + pathPattern + ")");
    }

    /** {@code get}, {@code post}, {@code put} ... with a path come here. */
    @Override
    public HttpRules route(Method method, String path, Handler handler) {
        routes.add(method.text() + " " + path);
        return this;
    }

    /** Routes built by hand, and {@code any(path, ...)}: not a method of their own. */
    @Override
    public HttpRules route(HttpRoute route) {
        return this;
    }
}
