// Format version of the generated model headers this firmware understands (nanopb-style guard).
#ifndef BEDSIDE_CORE_GEN_FORMAT_H_
#define BEDSIDE_CORE_GEN_FORMAT_H_

#define BEDSIDE_FIRMWARE_GEN_FORMAT 3  // 2: safety floor timing (safety.h); 3: artefact lookback, jump, after-gap

// Include after a generated header: a header of another format fails the build here.
#if defined(BEDSIDE_GEN_FORMAT) && (BEDSIDE_GEN_FORMAT != BEDSIDE_FIRMWARE_GEN_FORMAT)
#error Regenerate the model sources with `bedside convert` (BEDSIDE_GEN_FORMAT differs from BEDSIDE_FIRMWARE_GEN_FORMAT)
#endif

#endif  // BEDSIDE_CORE_GEN_FORMAT_H_
