/*
 * vs_alarm.h - the alarm rule: threshold, k-of-n persistence and hysteresis.
 *
 * Identical to vibsentry.runtime.alarm (Python, normative text there) and tested on the shared vectors in
 * tests/vectors/alarm/. Each analysed frame's score enters a ring of the last n scores (fewer at start-up).
 *   state OK:    when at least k ring scores are > threshold       -> state ALARM, event VS_ALARM_RAISE
 *   state ALARM: when no ring score is > clear_threshold           -> state OK,    event VS_ALARM_CLEAR
 * Comparisons are strict, in float32 (NaN never exceeds a threshold).
 *
 * Memory: the caller owns vs_alarm_t (sizeof about 140 bytes: a ring of VS_ALARM_MAX_N floats); no heap.
 * Not ISR-safe: call vs_alarm_step_f32 from one context (the analysis loop).
 */
#ifndef VS_ALARM_H
#define VS_ALARM_H

#include <stdint.h>

#include "vs/vs_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VS_ALARM_MAX_N 32

/* Events returned by vs_alarm_step_f32 (same numbers as the Python NONE / RAISE / CLEAR). */
#define VS_ALARM_EVENT_NONE 0
#define VS_ALARM_EVENT_RAISE 1
#define VS_ALARM_EVENT_CLEAR 2

/* States (same numbers as the Python STATE_OK / STATE_ALARM). */
#define VS_ALARM_STATE_OK 0
#define VS_ALARM_STATE_ALARM 1

typedef struct {
    float threshold;       /* score > threshold counts towards raising */
    float clear_threshold; /* score > clear_threshold keeps an alarm up; must be <= threshold */
    uint8_t k;             /* raise when k of the last n scores exceed threshold */
    uint8_t n;             /* ring length, 1 <= k <= n <= VS_ALARM_MAX_N */
} vs_alarm_rule_t;

typedef struct {
    vs_alarm_rule_t rule;
    float ring[VS_ALARM_MAX_N];
    uint8_t head;  /* next slot to write */
    uint8_t count; /* scores held, <= rule.n */
    uint8_t state; /* VS_ALARM_STATE_* */
} vs_alarm_t;

/* Validate rule and start in state OK with an empty ring. VS_ERR_ARG on NULL, bad k/n, non-finite
 * thresholds or clear_threshold > threshold (inst is then left untouched). */
int vs_alarm_init(vs_alarm_t *inst, const vs_alarm_rule_t *rule);

/* Forget the history (node reboot, new model); keeps the rule. */
void vs_alarm_reset(vs_alarm_t *inst);

/* Feed one frame's score; returns VS_ALARM_EVENT_NONE / _RAISE / _CLEAR. */
int vs_alarm_step_f32(vs_alarm_t *inst, float score);

/* Current state, VS_ALARM_STATE_OK or VS_ALARM_STATE_ALARM. */
int vs_alarm_state(const vs_alarm_t *inst);

#ifdef __cplusplus
}
#endif

#endif /* VS_ALARM_H */
