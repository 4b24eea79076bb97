// core.h: the vocabulary every module shares. Depends on nothing.
// Status/Result carry errors as values: ok() is free, messages are for people.
// Labels is an immutable, sorted, hashed label set; copying it copies one string.
// Duration parses and prints Prometheus durations ("5m", "1h30m") round-trip.
// Time is milliseconds since the Unix epoch; only app/ reads a clock.
// Thread rule: all types are values; const methods are safe from any thread.
#ifndef AMAS_CORE_CORE_H_
#define AMAS_CORE_CORE_H_

#include "core/labels.h"
#include "core/status.h"
#include "core/time.h"
#include "core/value.h"

#endif  // AMAS_CORE_CORE_H_
