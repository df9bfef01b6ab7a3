// Integer alarm on the int8 model output; mirrors bedside/contract/alarm.py (class Alarm).
//
// On after `min_duration` consecutive windows with output >= on_q; off at the first
// window with output < off_q (hysteresis, off_q <= on_q).
#ifndef BEDSIDE_CORE_ALARM_H_
#define BEDSIDE_CORE_ALARM_H_

#include <stdint.h>

namespace bedside {

struct Alarm {
  int8_t on_q, off_q;
  int min_duration;
  bool active;
  int count;
};

inline void alarm_reset(Alarm *a) {
  a->active = false;
  a->count = 0;
}

inline void alarm_init(Alarm *a, int8_t on_q, int8_t off_q, int min_duration) {
  a->on_q = on_q;
  a->off_q = off_q;
  a->min_duration = min_duration;
  alarm_reset(a);
}

inline bool alarm_step(Alarm *a, int8_t q_out) {
  if (a->active) {
    if (q_out < a->off_q) {
      a->active = false;
      a->count = 0;
    }
  } else {
    a->count = q_out >= a->on_q ? a->count + 1 : 0;
    if (a->count >= a->min_duration) a->active = true;
  }
  return a->active;
}

}  // namespace bedside

#endif  // BEDSIDE_CORE_ALARM_H_
