package io.floodgate.http;

/**
 * The HTTP contract suite, unchanged but for 202 ACCEPTED where the direct log answers 201,
 * against the whole distributed stack: the Redis ledger, the Kafka order log and a MariaDB order
 * store (see {@link io.floodgate.testing.DistributedMode#createWithKafka()}).
 */
class KafkaHttpContractTest extends HttpContractTest {
}
