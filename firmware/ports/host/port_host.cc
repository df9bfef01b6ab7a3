// Host (POSIX) port: the firmware as a process; its serial link is a pty, TCP or stdio.
//
// Cycles: the host has no portable cycle counter, so port_cycles() counts nanoseconds of
// CLOCK_MONOTONIC and INFO reports a 1 GHz "core clock"; timings are wall-clock, not
// instructions (use QEMU's -icount for instruction counts).
//
// TCP serves one client at a time: a second client gets one text line saying so and is
// closed; a client silent for idle_timeout_ms is disconnected; each new client starts
// with a fresh frame decoder and no cached reply (app_link_reset).
#include "port_host.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "app.h"
#include "port.h"

namespace {
int g_in = -1, g_out = -1;      // current link
int g_listen = -1;              // TCP: listening socket (reconnects after a client leaves)
int g_pty_slave = -1;           // pty: kept open so the master survives client close
bool g_alarm = false;
bool g_verbose = false;
unsigned g_idle_timeout_ms = 0;
uint64_t g_last_rx_ns = 0;      // TCP: when the client last sent a byte
uint64_t g_next_check_ns = 0;   // TCP: next look for a second client / idleness

uint64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void drop_client() {
  if (g_in >= 0) close(g_in);
  g_in = g_out = -1;
}

void say_and_close(int fd, const char *text) {
  // best effort: the socket is non-blocking and the line is short
  if (write(fd, text, strlen(text)) < 0 && g_verbose) perror("bedside-firmware");
  close(fd);
}

// While a client is connected: refuse any other, disconnect the client when idle.
void check_clients() {
  const uint64_t now = now_ns();
  if (now < g_next_check_ns) return;
  g_next_check_ns = now + 100000000ull;  // 10 times a second is plenty
  struct pollfd p = {g_listen, POLLIN, 0};
  if (poll(&p, 1, 0) > 0) {
    const int fd = accept(g_listen, nullptr, nullptr);
    if (fd >= 0) {
      say_and_close(fd, "bedside-firmware: busy: another client is connected "
                        "(one client at a time)\n");
      if (g_verbose) fprintf(stderr, "bedside-firmware: second client refused\n");
    }
  }
  if (g_idle_timeout_ms && now - g_last_rx_ns >= (uint64_t)g_idle_timeout_ms * 1000000ull) {
    char text[96];
    snprintf(text, sizeof(text), "bedside-firmware: idle for %u ms: disconnected\n",
             g_idle_timeout_ms);
    const int fd = g_in;
    g_in = g_out = -1;
    say_and_close(fd, text);
    if (g_verbose) fprintf(stderr, "%s", text);
  }
}

bool accept_client(int timeout_ms) {
  struct pollfd p = {g_listen, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return false;
  const int fd = accept(g_listen, nullptr, nullptr);
  if (fd < 0) return false;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  set_nonblocking(fd);
  g_in = g_out = fd;
  g_last_rx_ns = now_ns();
  bedside::app_link_reset();  // nothing of the previous client's partial frame or cache
  if (g_verbose) fprintf(stderr, "bedside-firmware: client connected\n");
  return true;
}
}  // namespace

bool host_link_open(const HostLink &link, char *url, size_t url_len) {
  g_verbose = link.verbose;
  g_idle_timeout_ms = link.idle_timeout_ms;
  if (link.kind == HostLink::kStdio) {
    g_in = 0;
    g_out = 1;
    set_nonblocking(0);
    snprintf(url, url_len, "stdio");
    return true;
  }
  if (link.kind == HostLink::kTcp) {
    g_listen = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(g_listen, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)link.tcp_port);
    if (bind(g_listen, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(g_listen, 1) != 0) {
      fprintf(stderr, "bedside-firmware: cannot listen on 127.0.0.1:%d: %s\n", link.tcp_port,
              strerror(errno));
      return false;
    }
    socklen_t len = sizeof(addr);
    getsockname(g_listen, (struct sockaddr *)&addr, &len);
    snprintf(url, url_len, "socket://127.0.0.1:%d", ntohs(addr.sin_port));
    return true;
  }
  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    fprintf(stderr, "bedside-firmware: cannot create a pty: %s\n", strerror(errno));
    return false;
  }
  const char *name = ptsname(master);
  // Raw mode on the slave (no echo, no line editing) before any client opens it; keeping
  // it open means the master never sees EOF when a client disconnects.
  g_pty_slave = open(name, O_RDWR | O_NOCTTY);
  struct termios tio;
  if (g_pty_slave < 0 || tcgetattr(g_pty_slave, &tio) != 0) {
    fprintf(stderr, "bedside-firmware: cannot open %s: %s\n", name, strerror(errno));
    return false;
  }
  cfmakeraw(&tio);
  tcsetattr(g_pty_slave, TCSANOW, &tio);
  if (tcgetattr(master, &tio) == 0) {
    cfmakeraw(&tio);
    tcsetattr(master, TCSANOW, &tio);
  }
  set_nonblocking(master);
  g_in = g_out = master;
  snprintf(url, url_len, "%s", name);
  return true;
}

extern "C" {

int port_serial_read(uint8_t *buf, int max_len) {
  if (g_in >= 0 && g_listen >= 0) check_clients();
  if (g_in < 0) return 0;
  const ssize_t n = read(g_in, buf, (size_t)max_len);
  if (n > 0) {
    g_last_rx_ns = now_ns();
    return (int)n;
  }
  if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    if (g_listen >= 0) drop_client();   // TCP client left: wait for the next one
    else if (g_in == 0) exit(0);        // stdio closed: the host is done
  }
  return 0;
}

void port_serial_write(const uint8_t *buf, int len) {
  int stalls = 0;  // give up after ~1 s without progress (nobody reads): never hang
  while (len > 0 && g_out >= 0 && stalls < 10) {
    const ssize_t n = write(g_out, buf, (size_t)len);
    if (n > 0) {
      buf += n;
      len -= (int)n;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      // pty: nobody reads the other end (stand-alone EVENTs pile up). Drop the stale
      // bytes rather than stall the loop; a listener that opens it later gets fresh frames.
      if (g_pty_slave >= 0 && errno != EINTR) tcflush(g_pty_slave, TCIFLUSH);
      struct pollfd p = {g_out, POLLOUT, 0};
      if (poll(&p, 1, 100) == 0) ++stalls;
    } else {
      if (g_listen >= 0) drop_client();
      return;
    }
  }
}

uint32_t port_cycles(void) { return (uint32_t)now_ns(); }

uint32_t port_millis(void) { return (uint32_t)(now_ns() / 1000000ull); }

bool port_sensor_read(int16_t *sample, int n_signals) {
  (void)sample;
  (void)n_signals;
  return false;  // no sensor on a PC
}

void port_alarm_led(bool on) {
  if (on != g_alarm && g_verbose) fprintf(stderr, "bedside-firmware: ALARM %s\n", on ? "ON" : "off");
  g_alarm = on;
}

const char *port_board_name(void) { return "host"; }

uint32_t port_core_clock_hz(void) { return 1000000000u; }

void port_idle(void) {
  // Sleep until input arrives (short timeout so a stand-alone loop keeps its period).
  if (g_in < 0 && g_listen >= 0) {
    accept_client(10);
    return;
  }
  if (g_in < 0) return;
  struct pollfd p = {g_in, POLLIN, 0};
  poll(&p, 1, 10);
}

}  // extern "C"
