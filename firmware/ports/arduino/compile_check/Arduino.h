// NOT the Arduino core: declares exactly the Arduino API the bedside port uses, so the
// port compiles on the host (tests/test_firmware_build.py) where no board core can be
// downloaded. A real build uses the board's Arduino core through PlatformIO.
#ifndef BEDSIDE_COMPILE_CHECK_ARDUINO_H_
#define BEDSIDE_COMPILE_CHECK_ARDUINO_H_

#include <stddef.h>
#include <stdint.h>

#define HIGH 0x1
#define LOW 0x0
#define OUTPUT 0x1
#define LED_BUILTIN 13
#define A0 14
#define A1 15

class HardwareSerial {
 public:
  void begin(unsigned long baud);
  int available();
  int read();
  size_t write(const uint8_t *buffer, size_t size);
};
extern HardwareSerial Serial;

unsigned long micros();
unsigned long millis();
int analogRead(uint8_t pin);
void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t value);

#endif  // BEDSIDE_COMPILE_CHECK_ARDUINO_H_
