package io.floodgate;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * Keeps the arrows of DESIGN.md pointing inward: the core imports no adapter, framework or
 * driver; adapters never import each other; only the application package wires.
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
    void coreDependsOnTheJdkAndItselfOnly() {
        noClasses().that().resideInAPackage("io.floodgate.core..")
                .should().dependOnClassesThat().resideOutsideOfPackages("io.floodgate.core..", "java..")
                .check(classes);
    }

    @Test
    void adaptersDoNotImportEachOther() {
        slices().matching("io.floodgate.(memory|jdbc|direct|redis|kafka|http)..").should().notDependOnEachOther()
                .check(classes);
    }

    @Test
    void onlyTheApplicationPackageNamesAdapters() {
        noClasses().that().resideOutsideOfPackages("io.floodgate.app..", "io.floodgate.memory..",
                        "io.floodgate.jdbc..", "io.floodgate.direct..", "io.floodgate.redis..", "io.floodgate.kafka..")
                .should().dependOnClassesThat().resideInAnyPackage("io.floodgate.memory..", "io.floodgate.jdbc..",
                        "io.floodgate.direct..", "io.floodgate.redis..", "io.floodgate.kafka..")
                .check(classes);
    }

    @Test
    void theLoadGeneratorIsAClientOfTheHttpApiOnly() {
        noClasses().that().resideInAPackage("io.floodgate.bench..")
                .should().dependOnClassesThat(resideInAPackage("io.floodgate..")
                        .and(resideOutsideOfPackage("io.floodgate.bench..")))
                .because("the bench is a client: it talks to Floodgate over HTTP, like any other")
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
    }
}
