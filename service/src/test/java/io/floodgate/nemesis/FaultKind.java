package io.floodgate.nemesis;

/**
 * What the nemesis can do to the deployment. Each kind names the part it breaks
 * ({@link Part}): two faults on one part never run at once, faults on different parts may
 * overlap. {@code weight} is how often the schedule draws it (the short run does every kind
 * once first); since each part's lane takes its own faults, it weighs a kind against the other
 * kinds of its part.
 */
enum FaultKind {
    /** SIGKILL an instance (sometimes the reconciler's leader), start it again 0-2 s later. */
    KILL_INSTANCE("kill -9 an instance, restart it", Part.INSTANCES, 2),
    /** SIGSTOP an instance (sometimes the leader) for 1-20 s, then SIGCONT: a long GC pause, past the lease. */
    PAUSE_INSTANCE("SIGSTOP an instance 1-20 s", Part.INSTANCES, 2),
    /** SIGKILL the Kafka broker, start it again 1-8 s later (on the same data). */
    KILL_KAFKA("kill -9 the Kafka broker, restart it", Part.KAFKA, 1.5),
    /** FLUSHALL on the Redis primary: the ledger is empty, the servers keep running. */
    REDIS_FLUSHALL("Redis FLUSHALL on the primary", Part.REDIS, 1),
    /** The Redis primary killed and started again at once, empty (its replica resyncs, empty too). */
    REDIS_RESTART_EMPTY("Redis primary restarted empty", Part.REDIS, 1),
    /** Failover through Sentinel to a replica that missed the last 1-5 s of writes (taken during traffic). */
    REDIS_LAGGING_FAILOVER("Sentinel failover to a lagging replica", Part.REDIS, 1),
    /** FLUSH TABLES WITH READ LOCK on the store's server for 5-90 s: every write waits, reads go on. */
    STORE_WRITE_LOCK("store write-locked", Part.STORE, 0.6),
    /** The proxy to the store drops every connection and refuses new ones for 2-15 s. */
    STORE_CUT("store connection cut", Part.STORE, 1),
    /** The proxy to the store delays every chunk by 100-1500 ms for 3-15 s. */
    STORE_SLOW("store connection slowed", Part.STORE, 1);

    enum Part { INSTANCES, KAFKA, REDIS, STORE }

    final String label;
    final Part part;
    final double weight;

    FaultKind(String label, Part part, double weight) {
        this.label = label;
        this.part = part;
        this.weight = weight;
    }
}
