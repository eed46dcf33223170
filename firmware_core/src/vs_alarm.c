/* vs_alarm.c - k-of-n alarm rule with hysteresis; semantics in vs_alarm.h and vibsentry.runtime.alarm. */
#include "vs/vs_alarm.h"

#include <math.h>
#include <stddef.h>

int vs_alarm_init(vs_alarm_t *inst, const vs_alarm_rule_t *rule)
{
    if (inst == NULL || rule == NULL) {
        return VS_ERR_ARG;
    }
    if (rule->k < 1 || rule->k > rule->n || rule->n > VS_ALARM_MAX_N) {
        return VS_ERR_ARG;
    }
    if (!isfinite(rule->threshold) || !isfinite(rule->clear_threshold) ||
        rule->clear_threshold > rule->threshold) {
        return VS_ERR_ARG;
    }
    inst->rule = *rule;
    vs_alarm_reset(inst);
    return VS_OK;
}

void vs_alarm_reset(vs_alarm_t *inst)
{
    inst->head = 0;
    inst->count = 0;
    inst->state = VS_ALARM_STATE_OK;
}

static unsigned count_above(const vs_alarm_t *inst, float level)
{
    unsigned c = 0;
    for (unsigned i = 0; i < inst->count; i++) {
        /* Strict '>' on float32 values, exactly like the Python rule (NaN counts as not above). */
        if (inst->ring[i] > level) {
            c++;
        }
    }
    return c;
}

int vs_alarm_step_f32(vs_alarm_t *inst, float score)
{
    /* Order inside the ring does not matter for counting, so it is a plain overwrite-oldest buffer. */
    inst->ring[inst->head] = score;
    inst->head = (uint8_t)((inst->head + 1u) % inst->rule.n);
    if (inst->count < inst->rule.n) {
        inst->count++;
    }
    if (inst->state == VS_ALARM_STATE_OK) {
        if (count_above(inst, inst->rule.threshold) >= inst->rule.k) {
            inst->state = VS_ALARM_STATE_ALARM;
            return VS_ALARM_EVENT_RAISE;
        }
    } else if (count_above(inst, inst->rule.clear_threshold) == 0u) {
        inst->state = VS_ALARM_STATE_OK;
        return VS_ALARM_EVENT_CLEAR;
    }
    return VS_ALARM_EVENT_NONE;
}

int vs_alarm_state(const vs_alarm_t *inst)
{
    return inst->state;
}
