package io.floodgate.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.floodgate.core.DependencyUnavailableException;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The few etcd v3 calls the lock needs, through etcd's gRPC gateway: JSON over HTTP/1.1 on the
 * members' client port ({@code POST /v3/lease/grant} and so on; etcd 3.4 and later serve it at
 * {@code /v3/}), with the JDK's {@link HttpClient}.
 *
 * <p><b>Why not jetcd.</b> The official Java client (io.etcd:jetcd-core) speaks gRPC and brings
 * grpc-java, protobuf, Vert.x and a Netty of its own: many megabytes of jars (measured in
 * docs/BENCHMARKS.md), a second Netty beside the one Lettuce pins, and a second event loop, for
 * six unary calls a few times per lease. The gateway is part of every etcd server, is the same
 * API (the same protobuf messages as JSON), and the JDK client needs nothing. What it does not
 * give: the keep-alive stream (each renewal is one request here, which is what the lock wants
 * anyway: one confirmed round trip per renewal), watches (the lock does not wait), and
 * client-certificate authentication (not offered here).
 *
 * <p>In the JSON, keys and values are base64 and 64-bit integers are strings; fields at their
 * default value (0, false, empty) are left out. A member that cannot be reached (connection
 * refused or timed out: the request never left) is skipped for the next one; a request that may
 * have arrived is not repeated elsewhere, and fails as outcome unknown.
 */
final class Gateway implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Base64.Encoder B64 = Base64.getEncoder();

    private final List<URI> endpoints;
    private final HttpClient http;
    /** The member asked first; moves on when one cannot be reached. */
    private volatile int current;

    Gateway(EtcdLocks.Settings settings) {
        this.endpoints = settings.endpoints();
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(settings.connectTimeout())
                .build();
    }

    /** A lease granted: its id, and the TTL etcd gave it (it may raise a short one to its minimum). */
    record Grant(long id, long ttlSeconds) {
    }

    Grant grant(long ttlSeconds, long timeoutNanos) {
        ObjectNode body = JSON.createObjectNode().put("TTL", ttlSeconds);
        JsonNode reply = call("/v3/lease/grant", body, timeoutNanos);
        return new Grant(reply.path("ID").asLong(), reply.path("TTL").asLong());
    }

    /**
     * One keep-alive: the lease's TTL afterwards, 0 when etcd no longer has the lease. (A stream
     * on the gateway: an error after the stream opened, such as "no leader", comes as a 200 whose
     * body is {@code {"error": ...}} instead of {@code {"result": ...}}; that is a failure to
     * renew, not a lost lease.)
     */
    long keepAlive(long leaseId, long timeoutNanos) {
        JsonNode reply = call("/v3/lease/keepalive", JSON.createObjectNode().put("ID", Long.toString(leaseId)),
                timeoutNanos);
        if (!reply.has("result")) {
            throw new DependencyUnavailableException(EtcdLocks.DEPENDENCY, "keep-alive of lease " + leaseId
                    + " failed: " + reply.path("error"));
        }
        return reply.path("result").path("TTL").asLong(0);
    }

    /** Revokes the lease (and so deletes the keys attached to it); a lease already gone is fine. */
    void revoke(long leaseId, long timeoutNanos) {
        call("/v3/lease/revoke", JSON.createObjectNode().put("ID", Long.toString(leaseId)), timeoutNanos);
    }

    /**
     * Puts {@code key} with the lease if no such key exists, in one transaction.
     *
     * @return the revision of the put (the key's create revision), or empty when the key exists
     */
    Optional<Long> putIfAbsent(String key, String value, long leaseId, long timeoutNanos) {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode compare = body.putArray("compare").addObject();
        compare.put("key", b64(key)).put("target", "CREATE").put("create_revision", "0");
        body.putArray("success").addObject().putObject("request_put")
                .put("key", b64(key)).put("value", b64(value)).put("lease", Long.toString(leaseId));
        JsonNode reply = call("/v3/kv/txn", body, timeoutNanos);
        if (!reply.path("succeeded").asBoolean(false)) {
            return Optional.empty();
        }
        return Optional.of(reply.path("header").path("revision").asLong());
    }

    /** A key as etcd has it now (a linearizable read). */
    record KeyValue(long createRevision, long lease) {
    }

    Optional<KeyValue> get(String key, long timeoutNanos) {
        JsonNode reply = call("/v3/kv/range", JSON.createObjectNode().put("key", b64(key)), timeoutNanos);
        JsonNode kvs = reply.path("kvs");
        if (!(kvs instanceof ArrayNode array) || array.isEmpty()) {
            return Optional.empty();
        }
        JsonNode kv = array.get(0);
        return Optional.of(new KeyValue(kv.path("create_revision").asLong(), kv.path("lease").asLong()));
    }

    /** The answering member's etcd version and URL ({@code 3.4.23 at http://127.0.0.1:2379}). */
    String version(long timeoutNanos) {
        JsonNode reply = call("/v3/maintenance/status", JSON.createObjectNode(), timeoutNanos);
        return reply.path("version").asText("?") + " at " + endpoints.get(current);
    }

    private static String b64(String s) {
        return B64.encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * POSTs {@code body} to {@code path} on a member, within {@code timeoutNanos} in all.
     *
     * @return the reply's JSON (etcd's "lease not found" and similar answers included)
     * @throws DependencyUnavailableException when no member answered in time, or one answered
     *         with an error other than "not found"
     */
    private JsonNode call(String path, ObjectNode body, long timeoutNanos) {
        long deadline = System.nanoTime() + timeoutNanos;
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + body, e);
        }
        IOException last = null;
        for (int tried = 0; tried < endpoints.size(); tried++) {
            int at = current;
            URI endpoint = endpoints.get(at);
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            HttpRequest request = HttpRequest.newBuilder(endpoint.resolve(path))
                    .timeout(Duration.ofNanos(left))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
                    .build();
            try {
                HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
                return answer(path, response);
            } catch (HttpConnectTimeoutException | ConnectException e) {
                last = e; // never sent: the next member may answer
                current = (at + 1) % endpoints.size();
            } catch (IOException e) {
                throw new DependencyUnavailableException(EtcdLocks.DEPENDENCY, path + " at " + endpoint + ": " + e, e,
                        true);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DependencyUnavailableException(EtcdLocks.DEPENDENCY, path + ": interrupted", e, true);
            }
        }
        throw new DependencyUnavailableException(EtcdLocks.DEPENDENCY, path + ": no member of " + endpoints
                + " could be reached within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms"
                + (last == null ? "" : " (" + last + ")"), last);
    }

    private static JsonNode answer(String path, HttpResponse<byte[]> response) {
        JsonNode json;
        try {
            json = JSON.readTree(response.body());
        } catch (IOException e) {
            throw new DependencyUnavailableException(EtcdLocks.DEPENDENCY, path + " answered " + response.statusCode()
                    + " with what is not JSON", e, true);
        }
        if (response.statusCode() == 200) {
            return json;
        }
        // gRPC status 5 (NOT_FOUND): a lease already gone, for revoke
        if (json.path("code").asInt(-1) == 5) {
            return json;
        }
        throw new DependencyUnavailableException(EtcdLocks.DEPENDENCY, path + " answered " + response.statusCode()
                + ": " + json.path("message").asText(new String(response.body(), StandardCharsets.UTF_8)), null, true);
    }

    @Override
    public void close() {
        http.close();
    }
}
