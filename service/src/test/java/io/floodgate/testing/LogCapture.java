package io.floodgate.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Every log event written while it is open, from every logger (Helidon's too, through the JUL
 * bridge when it is installed), as logback hands them to appenders. Optionally lowers a logger's
 * level for the duration (to see what DEBUG would write), and restores it on close.
 */
public final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {

    private final List<ILoggingEvent> events = new CopyOnWriteArrayList<>();
    private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    private final Logger lowered;
    private final Level previous;

    private LogCapture(String loggerToLower, Level level) {
        // Helidon logs through System.Logger, which is JUL here: bridged as `serve` does, or it is not seen
        if (!org.slf4j.bridge.SLF4JBridgeHandler.isInstalled()) {
            org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
            org.slf4j.bridge.SLF4JBridgeHandler.install();
        }
        if (loggerToLower != null) {
            lowered = (Logger) LoggerFactory.getLogger(loggerToLower);
            previous = lowered.getLevel();
            lowered.setLevel(level);
        } else {
            lowered = null;
            previous = null;
        }
        setName("capture-" + System.identityHashCode(this));
        setContext(root.getLoggerContext());
        start();
        root.addAppender(this);
    }

    public static LogCapture capture() {
        return new LogCapture(null, null);
    }

    /** Captures, with {@code logger} (and those below it) at {@code level} meanwhile. */
    public static LogCapture at(String logger, Level level) {
        return new LogCapture(logger, level);
    }

    @Override
    protected void append(ILoggingEvent event) {
        event.prepareForDeferredProcessing();
        events.add(event);
    }

    public List<ILoggingEvent> events() {
        return List.copyOf(events);
    }

    /** Events at {@code level} or above. */
    public List<ILoggingEvent> atLeast(Level level) {
        return events.stream().filter(e -> e.getLevel().isGreaterOrEqual(level)).toList();
    }

    @Override
    public void close() {
        root.detachAppender(this);
        stop();
        if (lowered != null) {
            lowered.setLevel(previous);
        }
    }
}
