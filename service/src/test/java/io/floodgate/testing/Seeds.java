package io.floodgate.testing;

/** Seeds for randomised tests: printed, and replayable with -D{name}=seed. */
public final class Seeds {

    private Seeds() {
    }

    public static long seed(String name) {
        String fixed = System.getProperty(name);
        long seed = fixed != null ? Long.parseLong(fixed) : System.nanoTime();
        System.out.println(name + "=" + seed + " (replay with -D" + name + "=" + seed + ")");
        return seed;
    }
}
