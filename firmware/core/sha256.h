// SHA-256 (FIPS 180-4), small and streaming, for the device's identity: the hash of the
// model and constants it actually holds (docs/verify.md). No heap, no tables in RAM.
#ifndef BEDSIDE_CORE_SHA256_H_
#define BEDSIDE_CORE_SHA256_H_

#include <stddef.h>
#include <stdint.h>

namespace bedside {

struct Sha256 {
  uint32_t h[8];
  uint8_t block[64];
  uint64_t bytes;   // message length so far
  size_t fill;      // bytes in block
};

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t len);
void sha256_final(Sha256 *s, uint8_t digest[32]);

}  // namespace bedside

#endif  // BEDSIDE_CORE_SHA256_H_
