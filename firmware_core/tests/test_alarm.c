/*
 * test_alarm.c - vs_alarm unit tests.
 *
 * Without arguments: hand-written cases. With arguments: each is a vector file that pytest converts from
 * tests/vectors/alarm/NAME.json (tests/firmware/test_c_alarm.py): a line "rule THR CLR K N", then one line per frame
 * "SCORE STATE EVENT" with floats in C99 hex notation so they round-trip exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vs/vs_alarm.h"
#include "vs_test.h"

static void test_init_rejects_bad_rules(void)
{
    vs_alarm_t a;
    vs_alarm_rule_t r = {1.0f, 0.5f, 3, 5};
    VS_CHECK_EQ_INT(vs_alarm_init(&a, &r), VS_OK);
    VS_CHECK_EQ_INT(vs_alarm_init(NULL, &r), VS_ERR_ARG);
    VS_CHECK_EQ_INT(vs_alarm_init(&a, NULL), VS_ERR_ARG);
    r.k = 0;
    VS_CHECK_EQ_INT(vs_alarm_init(&a, &r), VS_ERR_ARG);
    r.k = 6;
    VS_CHECK_EQ_INT(vs_alarm_init(&a, &r), VS_ERR_ARG);
    r.k = 3;
    r.n = 33;
    VS_CHECK_EQ_INT(vs_alarm_init(&a, &r), VS_ERR_ARG);
    r.n = 5;
    r.clear_threshold = 1.5f;
    VS_CHECK_EQ_INT(vs_alarm_init(&a, &r), VS_ERR_ARG);
    r.clear_threshold = NAN;
    VS_CHECK_EQ_INT(vs_alarm_init(&a, &r), VS_ERR_ARG);
}

static void test_k_of_n_and_hysteresis(void)
{
    vs_alarm_t a;
    const vs_alarm_rule_t r = {1.0f, 0.5f, 2, 3};
    VS_CHECK_EQ_INT(vs_alarm_init(&a, &r), VS_OK);
    /* One spike is not enough; a second within 3 frames raises. */
    VS_CHECK_EQ_INT(vs_alarm_step_f32(&a, 2.0f), VS_ALARM_EVENT_NONE);
    VS_CHECK_EQ_INT(vs_alarm_step_f32(&a, 0.0f), VS_ALARM_EVENT_NONE);
    VS_CHECK_EQ_INT(vs_alarm_step_f32(&a, 1.5f), VS_ALARM_EVENT_RAISE);
    VS_CHECK_EQ_INT(vs_alarm_state(&a), VS_ALARM_STATE_ALARM);
    /* Equal to the threshold is not above it; 0.6 > clear keeps the alarm up. */
    VS_CHECK_EQ_INT(vs_alarm_step_f32(&a, 0.6f), VS_ALARM_EVENT_NONE);
    VS_CHECK_EQ_INT(vs_alarm_step_f32(&a, 0.5f), VS_ALARM_EVENT_NONE);
    VS_CHECK_EQ_INT(vs_alarm_step_f32(&a, 0.5f), VS_ALARM_EVENT_NONE);
    /* The ring now holds 0.5, 0.5, 0.1: nothing above clear -> CLEAR. */
    VS_CHECK_EQ_INT(vs_alarm_step_f32(&a, 0.1f), VS_ALARM_EVENT_CLEAR);
    VS_CHECK_EQ_INT(vs_alarm_state(&a), VS_ALARM_STATE_OK);
    /* NaN never counts. */
    VS_CHECK_EQ_INT(vs_alarm_step_f32(&a, NAN), VS_ALARM_EVENT_NONE);
    VS_CHECK_EQ_INT(vs_alarm_step_f32(&a, NAN), VS_ALARM_EVENT_NONE);
    vs_alarm_reset(&a);
    VS_CHECK_EQ_INT(vs_alarm_step_f32(&a, 3.0f), VS_ALARM_EVENT_NONE);
}

static int run_vector_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[256];
    vs_alarm_t a;
    vs_alarm_rule_t r;
    int frame = 0, bad = 0;
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open\n", path);
        return 1;
    }
    if (fgets(line, sizeof line, f) == NULL || strncmp(line, "rule ", 5) != 0) {
        fprintf(stderr, "%s:1: expected 'rule THR CLR K N'\n", path);
        fclose(f);
        return 1;
    }
    {
        char *p = line + 5, *end;
        r.threshold = strtof(p, &end);
        r.clear_threshold = strtof(end, &end);
        r.k = (uint8_t)strtol(end, &end, 10);
        r.n = (uint8_t)strtol(end, &end, 10);
    }
    VS_CHECK_EQ_INT(vs_alarm_init(&a, &r), VS_OK);
    while (fgets(line, sizeof line, f) != NULL) {
        char *end;
        float s = strtof(line, &end);
        long want_state = strtol(end, &end, 10);
        long want_event = strtol(end, &end, 10);
        int ev = vs_alarm_step_f32(&a, s);
        if (ev != want_event || vs_alarm_state(&a) != want_state) {
            if (bad++ < 5) {
                fprintf(stderr, "%s: frame %d score %a: event %d state %d, expected %ld %ld\n", path, frame, s,
                        ev, vs_alarm_state(&a), want_event, want_state);
            }
        }
        frame++;
    }
    fclose(f);
    VS_CHECK(bad == 0);
    VS_CHECK(frame > 0);
    printf("%s: %d frames, %d mismatches\n", path, frame, bad);
    return bad != 0;
}

int main(int argc, char **argv)
{
    test_init_rejects_bad_rules();
    test_k_of_n_and_hysteresis();
    for (int i = 1; i < argc; i++) {
        (void)run_vector_file(argv[i]);
    }
    VS_TEST_DONE();
}
