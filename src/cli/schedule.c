/* SPDX-License-Identifier: Apache-2.0 */
/* Timing arithmetic of the open-loop schedule (see schedule.h). */
#include <math.h>

#include "schedule.h"

uint64_t schedule_slot_time_ns(const load_schedule *s, uint64_t slot)
{
        /* long double: slot * 1e9 exceeds the 53-bit mantissa of a double after ~100 days at 1/s. */
        return s->t0_ns + (uint64_t)llroundl((long double)slot * SCHEDULE_NSEC_PER_SEC / s->rate);
}

uint64_t schedule_slot_count(const load_schedule *s)
{
        long double n;
        uint64_t count;

        if (s->duration_ns == 0)
                return UINT64_MAX;
        /* Slot i is inside when i/rate < duration, i.e. i < duration * rate: ceil() of that. */
        n = (long double)s->duration_ns * s->rate / SCHEDULE_NSEC_PER_SEC;
        count = (uint64_t)ceill(n);
        /* Rounding can put the last slot exactly on the end; the window is half-open. */
        while (count > 0 && schedule_slot_time_ns(s, count - 1) - s->t0_ns >= s->duration_ns)
                count--;
        return count;
}

double schedule_rate(uint64_t done, uint64_t elapsed_ns)
{
        if (elapsed_ns == 0)
                return 0.0;
        return (double)done * (double)SCHEDULE_NSEC_PER_SEC / (double)elapsed_ns;
}
