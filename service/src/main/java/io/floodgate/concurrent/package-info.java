/**
 * The concurrency mechanisms that several adapters share, each with one name, one file and its
 * own tests: the waiter/completer {@link io.floodgate.concurrent.Handoff}, the retry
 * {@link io.floodgate.concurrent.Backoff}, the batch-draining worker
 * {@link io.floodgate.concurrent.DrainLoop}, the job that runs in passes
 * {@link io.floodgate.concurrent.Periodic}, {@link io.floodgate.concurrent.Failures}, the
 * first failure of several with the rest suppressed, and {@link io.floodgate.concurrent.Deadlines},
 * which wakes parked waiters at their deadlines so that no wait needs a timed park.
 *
 * <p>It depends on the JDK only (ArchitectureTest keeps it so), so the core may use it too; what
 * a mechanism needs from its user (logging, a deadline, the order it carries) comes in as a
 * callback or a plain number.
 */
package io.floodgate.concurrent;
