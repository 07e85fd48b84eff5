package io.floodgate.app;

import io.floodgate.testing.Api;
import io.floodgate.testing.Resources;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A profile is a file people share: one taken with {@code POST /debug/profile} holds no secret of
 * the process's environment (a recording used to carry every environment variable, so anyone
 * holding the .jfr could mint user tokens). The service runs as its own process with secrets in
 * its environment; the recording is read back, event by event and byte by byte.
 */
class ProfileSecretsTest {

    private static final String JWT_SECRET = "jwt-secret-that-must-never-leak-0123456789";
    private static final String DB_PASSWORD = "db-password-that-must-never-leak";
    private static final String PAYMENT_SECRET = "payment-secret-that-must-never-leak-42";

    @TempDir
    Path tmp;

    @org.junit.jupiter.api.extension.RegisterExtension
    final Resources resources = new Resources();

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aProfileCarriesNoSecretOfTheEnvironment() throws Exception {
        ServiceProcess service = resources.track(ServiceProcess.start(tmp.resolve("data"), "profile-secrets", Map.of(
                "FLOODGATE_USER_JWT_SECRET", JWT_SECRET,
                "FLOODGATE_DB_PASSWORD", DB_PASSWORD,
                "FLOODGATE_PAYMENT_SECRET", PAYMENT_SECRET)));
        Api api = service.api();
        HttpResponse<byte[]> profile = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(api.base() + "/debug/profile?seconds=1"))
                .header("Authorization", "Bearer " + ServiceProcess.ADMIN_TOKEN)
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(profile.statusCode()).isEqualTo(200);
        Path jfr = tmp.resolve("profile.jfr");
        Files.write(jfr, profile.body());

        List<String> secrets = List.of(ServiceProcess.ADMIN_TOKEN, JWT_SECRET, DB_PASSWORD, PAYMENT_SECRET);
        String raw = new String(profile.body(), StandardCharsets.ISO_8859_1);
        assertThat(secrets).as("no secret anywhere in the file's bytes").noneMatch(raw::contains);
        List<String> types = new ArrayList<>();
        for (RecordedEvent event : RecordingFile.readAllEvents(jfr)) {
            types.add(event.getEventType().getName());
            String text = event.toString();
            assertThat(secrets).as("event %s", event.getEventType().getName()).noneMatch(text::contains);
        }
        assertThat(types).as("a real profile, with CPU samples").contains("jdk.ExecutionSample")
                .doesNotContain("jdk.InitialEnvironmentVariable");
        assertThat(service.output()).as("nor in the service's log").doesNotContain(PAYMENT_SECRET);
    }
}
