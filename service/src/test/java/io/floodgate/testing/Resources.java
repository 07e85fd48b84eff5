package io.floodgate.testing;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * What a test started (servers, databases, processes), closed last first when the test ends,
 * every one of them even when some fail to close; the first failure is thrown with the others
 * suppressed. Registered as an extension ({@code @RegisterExtension final Resources resources =
 * new Resources();}), it closes after each test by itself.
 */
public final class Resources implements AutoCloseable, org.junit.jupiter.api.extension.AfterEachCallback {

    @Override
    public void afterEach(org.junit.jupiter.api.extension.ExtensionContext context) throws Exception {
        close();
    }


    private final Deque<AutoCloseable> opened = new ArrayDeque<>();

    /** Keeps {@code resource} to close at the end; returns it. */
    public <T extends AutoCloseable> T track(T resource) {
        opened.push(resource);
        return resource;
    }

    @Override
    public void close() throws Exception {
        Exception failure = null;
        while (!opened.isEmpty()) {
            try {
                opened.pop().close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
