package io.floodgate;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * Keeps the arrows of docs/ARCHITECTURE.md ("Packages and arrows") pointing inward: the core imports no adapter, framework or
 * driver; adapters never import each other; only the application package wires. The shared
 * mechanisms ({@code io.floodgate.concurrent}) sit below everything, the core included, and
 * import nothing but the JDK. The classes are the service module's; the load generator, a module
 * of its own, is kept apart by the build (docs/ARCHITECTURE.md, "Modules").
 */
class ArchitectureTest {

    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.floodgate");
    }

    @Test
    void coreDependsOnTheJdkTheSharedMechanismsAndItselfOnly() {
        noClasses().that().resideInAPackage("io.floodgate.core..")
                .should().dependOnClassesThat().resideOutsideOfPackages("io.floodgate.core..",
                        "io.floodgate.concurrent..", "java..")
                .check(classes);
    }

    @Test
    void theSharedMechanismsDependOnTheJdkOnly() {
        noClasses().that().resideInAPackage("io.floodgate.concurrent..")
                .should().dependOnClassesThat().resideOutsideOfPackages("io.floodgate.concurrent..", "java..")
                .because("every package may use them, the core included")
                .check(classes);
    }

    @Test
    void adaptersDoNotImportEachOther() {
        slices().matching("io.floodgate.(memory|jdbc|direct|redis|kafka|zookeeper|etcd|http)..").should().notDependOnEachOther()
                .check(classes);
    }

    @Test
    void onlyTheApplicationPackageNamesAdapters() {
        noClasses().that().resideOutsideOfPackages("io.floodgate.app..", "io.floodgate.memory..",
                        "io.floodgate.jdbc..", "io.floodgate.direct..", "io.floodgate.redis..", "io.floodgate.kafka..",
                        "io.floodgate.zookeeper..", "io.floodgate.etcd..")
                .should().dependOnClassesThat().resideInAnyPackage("io.floodgate.memory..", "io.floodgate.jdbc..",
                        "io.floodgate.direct..", "io.floodgate.redis..", "io.floodgate.kafka..", "io.floodgate.zookeeper..",
                        "io.floodgate.etcd..")
                .check(classes);
    }

    /**
     * The load generator is a module of its own (bench/, floodgate-bench.jar), compiled without the
     * service on its class path: that it imports nothing of Floodgate's is kept by the build. This
     * rule keeps the other direction: none of it comes back into the service.
     */
    @Test
    void theServiceCarriesNoLoadGenerator() {
        noClasses().should().resideInAPackage("io.floodgate.bench..")
                .because("the load generator is a client in a module of its own (bench/), not part of the service")
                .check(classes);
    }

    @Test
    void noDriverOrFrameworkOutsideItsAdapter() {
        noClasses().that().resideOutsideOfPackages("io.floodgate.jdbc..", "io.floodgate.app..")
                .should().dependOnClassesThat().resideInAnyPackage("java.sql..", "javax.sql..", "com.zaxxer..",
                        "org.flywaydb..", "org.sqlite..")
                .check(classes);
        noClasses().that().resideOutsideOfPackages("io.floodgate.http..", "io.floodgate.app..")
                .should().dependOnClassesThat().resideInAnyPackage("io.helidon..")
                .check(classes);
        noClasses().that().resideOutsideOfPackage("io.floodgate.zookeeper..")
                .should().dependOnClassesThat().resideInAnyPackage("org.apache.curator..", "org.apache.zookeeper..")
                .because("ZooKeeper and Curator stay inside the ZooKeeper lock adapter")
                .check(classes);
    }
}
