package io.floodgate.bench;

/**
 * How a run names its users, keys and request ids, so that what the store holds can be traced
 * back to the request that made it: an order's {@code requestId} is the id of the request that
 * created it, {@code <run>-<seq>:<attempt>}, and its key is the part before the colon.
 */
record Names(String runId) {

    String user(int index) {
        return runId + "-u" + index;
    }

    String key(long seq) {
        return runId + "-" + seq;
    }

    String requestId(long seq, int attempt) {
        return runId + "-" + seq + ":" + attempt;
    }

    /** The key sequence a request id of this run names, or -1 if it is not one of ours. */
    long seqOfRequestId(String requestId) {
        if (requestId == null || !requestId.startsWith(runId + "-")) {
            return -1;
        }
        int colon = requestId.indexOf(':');
        String seq = requestId.substring(runId.length() + 1, colon < 0 ? requestId.length() : colon);
        try {
            return Long.parseLong(seq);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The user index a user id of this run names, or -1. */
    int userIndex(String userId) {
        String prefix = runId + "-u";
        if (userId == null || !userId.startsWith(prefix)) {
            return -1;
        }
        try {
            return Integer.parseInt(userId.substring(prefix.length()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
