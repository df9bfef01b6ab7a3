// Cortex-M firmware: the bedside loop on bare metal, serial on CMSDK UART0.
#include "app.h"

extern "C" void port_init(void);

int main() {
  port_init();
  bedside::AppOptions options;  // samples come from the host (SAMPLES, SIMULATE)
  bedside::app_setup(options);
  for (;;) bedside::app_poll();
}
