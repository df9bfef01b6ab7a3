// Bare-metal main() for every board port (Cortex-M, RISC-V, Xtensa): the port's
// port_init() sets up the UART and the cycle counter, then the bedside loop runs forever.
#include "app.h"

extern "C" void port_init(void);

int main() {
  port_init();
  bedside::AppOptions options;  // samples come from the host (SAMPLES, SIMULATE)
  bedside::app_setup(options);
  for (;;) bedside::app_poll();
}
