// Host port set-up: which link the host firmware opens (see port_host.cc).
#ifndef BEDSIDE_PORTS_HOST_PORT_HOST_H_
#define BEDSIDE_PORTS_HOST_PORT_HOST_H_

#include <stddef.h>

struct HostLink {
  enum Kind { kPty, kTcp, kStdio } kind = kPty;
  int tcp_port = 0;   // 0: any free port
  bool verbose = false;
  // TCP: a client that sends nothing for this long is disconnected, so a forgotten
  // connection cannot hold the device (0: never). Longer than a real-time host's 60 s.
  unsigned idle_timeout_ms = 120000;
};

// Opens the link; writes the pyserial URL to use (pty path, socket://..., "stdio").
bool host_link_open(const HostLink &link, char *url, size_t url_len);

#endif  // BEDSIDE_PORTS_HOST_PORT_HOST_H_
