/*
 * vs_test.h - the few assertion macros the host unit tests use (no framework: each test is one binary).
 *
 * VS_CHECK(cond) records a failure with file:line and keeps going; VS_TEST_DONE() prints a summary and
 * returns the exit status from main(). Tests run from the repository root, so vector files are opened as
 * "tests/vectors/...".
 */
#ifndef VS_TEST_H
#define VS_TEST_H

#include <math.h>
#include <stdio.h>

static int vs_test_failures;
static int vs_test_checks;

#define VS_CHECK(cond)                                                              \
    do {                                                                            \
        vs_test_checks++;                                                           \
        if (!(cond)) {                                                              \
            vs_test_failures++;                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define VS_CHECK_EQ_INT(a, b)                                                                    \
    do {                                                                                         \
        long vs_a_ = (long)(a), vs_b_ = (long)(b);                                               \
        vs_test_checks++;                                                                        \
        if (vs_a_ != vs_b_) {                                                                    \
            vs_test_failures++;                                                                  \
            fprintf(stderr, "%s:%d: %s == %ld, expected %s == %ld\n", __FILE__, __LINE__, #a, vs_a_, \
                    #b, vs_b_);                                                                  \
        }                                                                                        \
    } while (0)

#define VS_CHECK_NEAR(a, b, tol)                                                                   \
    do {                                                                                           \
        double vs_a_ = (double)(a), vs_b_ = (double)(b);                                           \
        vs_test_checks++;                                                                          \
        if (!(fabs(vs_a_ - vs_b_) <= (tol))) {                                                     \
            vs_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s == %.9g, expected %.9g (tol %g)\n", __FILE__, __LINE__, #a, vs_a_, \
                    vs_b_, (double)(tol));                                                         \
        }                                                                                          \
    } while (0)

#define VS_TEST_DONE()                                                                          \
    do {                                                                                        \
        printf("%s: %d checks, %d failures\n", __FILE__, vs_test_checks, vs_test_failures);     \
        return vs_test_failures == 0 ? 0 : 1;                                                   \
    } while (0)

#endif /* VS_TEST_H */
